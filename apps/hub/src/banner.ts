export interface BannerInfo {
  mode: string;
  gateways: string[];
  redisUrl: string | undefined;
  userToken: string | undefined;
  serviceToken: string | undefined;
}

/** How to connect, for the person at the terminal (stderr: stdout carries JSON log lines only). */
export function printBanner(info: BannerInfo): void {
  const lines = [
    "",
    `  hub is up: ${info.mode}`,
    ...info.gateways.map((url, i) => `  gateway ${i + 1}: ${url}   (health: ${url}/health)`),
    ...(info.redisUrl ? [`  redis:     ${info.redisUrl}`] : []),
  ];
  if (info.userToken && info.serviceToken) {
    lines.push(
      "",
      "  dev tokens (valid 24 h, signed with this run's secrets):",
      `  user    (sub dev-user, org_id dev-org): ${info.userToken}`,
      `  service (sub dev-console):              ${info.serviceToken}`,
      "",
      "  connect:  io(url, { auth: { token: <user token> } }).emitWithAck('subscribe', { topic: 'org:dev-org' })",
      `  publish:  curl -X POST ${info.gateways[0]}/api/v1/events -H 'authorization: Bearer <service token>' \\`,
      `              -H 'content-type: application/json' -d '{"type":"roster.player_hired","org_id":"dev-org","payload":{"player_id":1}}'`,
    );
  }
  lines.push("", "  Ctrl-C stops it.", "");
  process.stderr.write(`${lines.join("\n")}\n`);
}
