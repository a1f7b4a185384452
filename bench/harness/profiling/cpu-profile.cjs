// Preload that CPU-profiles a process from start to exit, for processes the harness starts (Node 20
// refuses --cpu-prof in NODE_OPTIONS):
//   BENCH_SERVER_NODE_OPTIONS="--require $PWD/bench/harness/profiling/cpu-profile.cjs" pnpm bench --only fanout
//   BENCH_WORKER_NODE_OPTIONS="--require $PWD/bench/harness/profiling/cpu-profile.cjs" pnpm bench --full --only worker
// Writes /tmp/bench-cpu-profiles/<pid>.cpuprofile (open it in Chrome DevTools or speedscope).
const { mkdirSync, writeFileSync } = require("node:fs");
const { Session } = require("node:inspector");

const dir = "/tmp/bench-cpu-profiles";
const session = new Session();
session.connect();
session.post("Profiler.enable", () => session.post("Profiler.start"));
process.on("exit", () => {
  // An in-process inspector session answers synchronously, so this completes before the process ends.
  session.post("Profiler.stop", (error, result) => {
    if (error) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
  });
});
