/**
 * The URL of one cluster node from its `host:port` (ioredis's node key; an IPv6 host has colons of
 * its own, so the port is what follows the last one).
 */
export function nodeUrl(node: string): string {
  const colon = node.lastIndexOf(":");
  const host = node.slice(0, colon);
  return `redis://${host.includes(":") ? `[${host}]` : host}:${node.slice(colon + 1)}`;
}
