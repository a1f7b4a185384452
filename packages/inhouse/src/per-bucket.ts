import { queueBucket } from "@hub/store";

/** Queues per bulk call: big enough to make a pass over 10,000 queues a handful of calls, small enough not to stall Redis. */
export const CHUNK = 500;

/**
 * Runs a bulk call over items of many queues as one call per queue bucket (a call's keys must share
 * one Redis Cluster slot) and at most `CHUNK` items per call, the calls in parallel. `call` answers
 * one result per item of its part, in order; the answer is one result per item, in input order.
 *
 * @example
 * const held = await perBucket(leases, (lease) => lease.name, (part) => extendInRedis(part));
 */
export async function perBucket<T, R>(
  items: readonly T[],
  nameOf: (item: T) => string,
  call: (part: T[]) => Promise<readonly R[]>,
): Promise<R[]> {
  const groups = new Map<number, number[]>();
  items.forEach((item, i) => {
    const bucket = queueBucket(nameOf(item));
    const group = groups.get(bucket);
    if (group) group.push(i);
    else groups.set(bucket, [i]);
  });
  const results = new Array<R>(items.length);
  const calls: Array<Promise<void>> = [];
  for (const group of groups.values()) {
    for (let from = 0; from < group.length; from += CHUNK) {
      const indices = group.slice(from, from + CHUNK);
      calls.push(
        call(indices.map((i) => items[i] as T)).then((answers) => {
          indices.forEach((index, j) => {
            results[index] = answers[j] as R;
          });
        }),
      );
    }
  }
  await Promise.all(calls);
  return results;
}
