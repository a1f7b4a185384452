import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const MODULE = fileURLToPath(new URL("./process-faults.ts", import.meta.url));
const LOGGER = fileURLToPath(new URL("./logger.ts", import.meta.url));

/** Runs a script that installs the guard, then does `body`; resolves with its exit code and stdout lines. */
function run(body: string): Promise<{ code: number | null; lines: Array<Record<string, unknown>> }> {
  const script = `
    import { guardProcess } from ${JSON.stringify(MODULE)};
    import { createLogger } from ${JSON.stringify(LOGGER)};
    guardProcess(createLogger("test", "info", "n1"));
    ${body}
  `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve) =>
    child.once("exit", (code) =>
      resolve({
        code,
        lines: out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>),
      }),
    ),
  );
}

describe("guardProcess", () => {
  it("logs an unhandled rejection with its stack and keeps the process running", async () => {
    const { code, lines } = await run(`
      Promise.reject(new Error("nobody awaited me"));
      setTimeout(() => { console.log(JSON.stringify({ msg: "still alive" })); process.exit(0); }, 50);
    `);
    expect(code).toBe(0);
    const logged = lines.find((l) => l.msg === "unhandled promise rejection (the process keeps running)");
    expect(logged?.level).toBe("error");
    expect((logged?.err as { message?: string; stack?: string })?.message).toBe("nobody awaited me");
    expect((logged?.err as { stack?: string })?.stack).toContain("Error: nobody awaited me");
    expect(lines.at(-1)?.msg).toBe("still alive");
  });

  it("logs an uncaught exception and exits 1", async () => {
    const { code, lines } = await run(`setTimeout(() => { throw new Error("broken state"); }, 0);`);
    expect(code).toBe(1);
    const logged = lines.find((l) => l.msg === "uncaught exception: exiting");
    expect(logged?.level).toBe("fatal");
    expect((logged?.err as { message?: string })?.message).toBe("broken state");
  });
});
