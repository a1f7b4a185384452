#!/usr/bin/env node
// Makes sure the programs the test suite starts are on PATH: redis-server (integration tests),
// haproxy (load-balancer test), chromium (the console's browser test, driven by playwright-core;
// `npx playwright install` cannot download browsers here) and promtool (the monitoring test checks
// infra/prometheus with it; Debian ships it in the prometheus package). Installs them with apt-get
// when running as root on Debian/Ubuntu; otherwise stops with one line saying how to install them.
import { execFileSync, spawnSync } from "node:child_process";

const needed = [
  { bin: "redis-server", pkg: "redis-server" },
  { bin: "haproxy", pkg: "haproxy" },
  // Debian's package; the browser test launches /usr/bin/chromium.
  { bin: "chromium", pkg: "chromium" },
  { bin: "promtool", pkg: "prometheus" },
];

const onPath = (bin) => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;
const missing = needed.filter(({ bin }) => !onPath(bin));
if (missing.length === 0) process.exit(0);

const packages = missing.map((m) => m.pkg);
const canApt = process.getuid?.() === 0 && onPath("apt-get");
if (!canApt) {
  console.error(
    `tests need ${missing.map((m) => m.bin).join(", ")}: install them with 'sudo apt-get install -y ${packages.join(" ")}' (or your OS's packages) and run the tests again`,
  );
  process.exit(1);
}

console.error(`installing ${packages.join(", ")} with apt-get ...`);
const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
try {
  execFileSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
    stdio: ["ignore", "ignore", "inherit"],
    env,
  });
} catch {
  console.error(`could not install ${packages.join(", ")} with apt-get; install them by hand and run the tests again`);
  process.exit(1);
}
// The Debian packages start a system redis on 6379 and a prometheus on 9090; the tests start their
// own redis-servers on free ports and need no prometheus server.
for (const service of ["redis-server", "prometheus"]) {
  spawnSync("sh", ["-c", `service ${service} stop || systemctl stop ${service}`], { stdio: "ignore" });
}
const still = missing.filter(({ bin }) => !onPath(bin));
if (still.length > 0) {
  console.error(`${still.map((m) => m.bin).join(", ")} still not on PATH after apt-get install`);
  process.exit(1);
}
