import type { GatewayProcess } from "@hub/devkit";

/** `hub_connections` of one gateway, from its own /metrics. */
export async function connectionsOn(gateway: GatewayProcess): Promise<number> {
  return (await readMetric(gateway, "hub_connections")) ?? Number.NaN;
}

/** One series of a gateway's /metrics by its full name (`name{labels}`); 0 when absent. */
export async function metricOn(gateway: GatewayProcess, series: string): Promise<number> {
  return (await readMetric(gateway, series)) ?? 0;
}

/** One series of a gateway's /metrics by its full name; undefined when the gateway does not export it. */
async function readMetric(gateway: GatewayProcess, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Sum of a gateway's /metrics series of one family whose labels contain `labels` (all of them by default). */
export async function metricSum(gateway: GatewayProcess, family: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  let total = 0;
  for (const [, name, labelText, value] of text.matchAll(/^(\w+)(?:\{([^}]*)\})? (\S+)$/gm)) {
    if (name === family && (labelText ?? "").includes(labels)) total += Number(value);
  }
  return total;
}
