// The parent side of storm-clients.ts: thousands of @hub/client connections spread over child
// processes, driven and observed over IPC.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { REPO_ROOT, stopChild, track, until } from "@hub/devkit";
import type { StormCommand, StormStart, StormStatus, StormVerified } from "./storm-clients.js";

const SCRIPT = fileURLToPath(new URL("./storm-clients.ts", import.meta.url));

export interface FleetOptions extends Omit<StormStart, "type" | "count"> {
  /** Connections in all, split evenly over `processes`. */
  count: number;
  processes: number;
}

/** What every child reported last, added up (`backAt` merged and sorted). */
export type FleetStatus = Omit<StormStatus, "type" | "marks">;

interface Member {
  child: ChildProcess;
  status: StormStatus | undefined;
  output: string;
  verified: StormVerified | undefined;
}

export class StormFleet {
  readonly #members: Member[];
  #marks = 0;

  private constructor(members: Member[]) {
    this.#members = members;
  }

  /** Spawns the children and has each open its share of connections (paced: `perSecond` each). */
  static start(options: FleetOptions): StormFleet {
    const { processes, count, ...rest } = options;
    const members: Member[] = [];
    for (let i = 0; i < processes; i++) {
      const share = Math.floor(count / processes) + (i < count % processes ? 1 : 0);
      const child = spawn(process.execPath, ["--import", "tsx", SCRIPT], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, NODE_ENV: "test" },
        stdio: ["ignore", "pipe", "pipe", "ipc"],
      });
      track(child);
      const member: Member = { child, status: undefined, output: "", verified: undefined };
      const append = (chunk: Buffer) => {
        member.output = (member.output + chunk.toString()).slice(-4_000);
      };
      child.stdout?.on("data", append);
      child.stderr?.on("data", append);
      child.on("message", (message: StormStatus | StormVerified | { type: "closed" }) => {
        if (message.type === "status") member.status = message;
        else if (message.type === "verified") member.verified = message;
      });
      const command: StormCommand = { type: "start", count: share, ...rest };
      child.send(command);
      members.push(member);
    }
    return new StormFleet(members);
  }

  /** The children's last reports, added up. */
  get status(): FleetStatus {
    const total: FleetStatus = {
      count: 0,
      connected: 0,
      ready: 0,
      rateLimited: 0,
      errors: {},
      reasons: {},
      disconnects: 0,
      recoveryFailed: 0,
      backAt: [],
    };
    for (const { status } of this.#members) {
      if (!status) continue;
      total.count += status.count;
      total.connected += status.connected;
      total.ready += status.ready;
      total.rateLimited += status.rateLimited;
      total.disconnects += status.disconnects;
      total.recoveryFailed += status.recoveryFailed;
      for (const [code, n] of Object.entries(status.errors)) total.errors[code] = (total.errors[code] ?? 0) + n;
      for (const [reason, n] of Object.entries(status.reasons)) total.reasons[reason] = (total.reasons[reason] ?? 0) + n;
      total.backAt.push(...status.backAt);
    }
    total.backAt.sort((a, b) => a - b);
    return total;
  }

  /** Resolves once the added-up status satisfies `probe`; a child that exits fails it at once. */
  async until(what: string, probe: (status: FleetStatus) => boolean, timeoutMs: number): Promise<FleetStatus> {
    try {
      return await until(
        what,
        () => {
          const gone = this.#members.find((m) => m.child.exitCode !== null || m.child.signalCode !== null);
          if (gone) throw new Error(`a storm client process exited (${gone.child.exitCode ?? gone.child.signalCode}):\n${gone.output}`);
          const status = this.status;
          return probe(status) && status;
        },
        timeoutMs,
      );
    } catch (error) {
      const { backAt, ...last } = this.status;
      throw new Error(`${(error as Error).message}; last status: ${JSON.stringify({ ...last, back: backAt.length })}`);
    }
  }

  /** Counts refusals and disconnects afresh from now on, and records when each dropped client is back. */
  async mark(): Promise<void> {
    const marks = ++this.#marks;
    for (const { child } of this.#members) child.send({ type: "mark" } satisfies StormCommand);
    await until("every storm process to take the mark", () => this.#members.every((m) => m.status?.marks === marks), 5_000);
  }

  /** How many clients were given exactly `ids`, in that order, and a few that were not. */
  async verify(ids: string[]): Promise<{ matching: number; samples: string[][] }> {
    for (const member of this.#members) {
      member.verified = undefined;
      member.child.send({ type: "verify", ids } satisfies StormCommand);
    }
    const answers = await until("every storm process to verify", () => this.#members.every((m) => m.verified) && this.#members, 10_000);
    return {
      matching: answers.reduce((n, m) => n + (m.verified?.matching ?? 0), 0),
      samples: answers.flatMap((m) => m.verified?.samples ?? []).slice(0, 3),
    };
  }

  /** Closes every connection and ends the children (SIGKILL after 5 s). */
  async close(): Promise<void> {
    await Promise.all(
      this.#members.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        if (child.connected) child.send({ type: "close" } satisfies StormCommand);
        const timer = setTimeout(() => void stopChild(child, "SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
