import { describe, expect, it } from "vitest";
import { parseLaunchOptions } from "./launch-options.js";

describe("parseLaunchOptions (pnpm start argv and HUB_NODES)", () => {
  it("runs the single embedded node with no argument and no HUB_NODES", () => {
    expect(parseLaunchOptions([], {})).toEqual({ cluster: 0, redisCluster: false });
    expect(parseLaunchOptions([], { HUB_NODES: "  " })).toEqual({ cluster: 0, redisCluster: false });
  });

  it.each([[["--cluster", "3"]], [["--cluster=3"]], [["--", "--cluster", "3"]], [["--", "--cluster=3"]]])(
    "reads %j as a cluster of 3",
    (argv) => {
      expect(parseLaunchOptions(argv, {})).toEqual({ cluster: 3, redisCluster: false });
    },
  );

  it("reads --redis-cluster with a cluster, from the flag or HUB_NODES", () => {
    expect(parseLaunchOptions(["--cluster", "3", "--redis-cluster"], {})).toEqual({ cluster: 3, redisCluster: true });
    expect(parseLaunchOptions(["--redis-cluster"], { HUB_NODES: "2" })).toEqual({ cluster: 2, redisCluster: true });
  });

  it("reads HUB_NODES, trimmed", () => {
    expect(parseLaunchOptions([], { HUB_NODES: "2" })).toEqual({ cluster: 2, redisCluster: false });
    expect(parseLaunchOptions([], { HUB_NODES: " 4 " })).toEqual({ cluster: 4, redisCluster: false });
  });

  it("lets the flag win over HUB_NODES, a bad HUB_NODES included", () => {
    expect(parseLaunchOptions(["--cluster", "3"], { HUB_NODES: "2" })).toEqual({ cluster: 3, redisCluster: false });
    expect(parseLaunchOptions(["--cluster=2"], { HUB_NODES: "lots" })).toEqual({ cluster: 2, redisCluster: false });
  });

  it.each([
    [["--cluster", "0"], /^--cluster takes a number of gateways from 1 to 16, got "0"; usage: pnpm start/],
    [["--cluster", "17"], /from 1 to 16, got "17"/],
    [["--cluster", "2.5"], /from 1 to 16, got "2.5"/],
    [["--cluster", "1e1"], /from 1 to 16, got "1e1"/],
    [["--cluster=three"], /from 1 to 16, got "three"/],
    [["--cluster="], /from 1 to 16, got ""/],
    [["--cluster"], /^--cluster needs a number of gateways; usage: pnpm start/],
    [["--cluster", "--verbose"], /^--cluster needs a number of gateways/],
    [["--nodes", "3"], /^unknown argument "--nodes"; usage: pnpm start \[--cluster N \[--redis-cluster\]\]/],
    [["3"], /^unknown argument "3"/],
    [["--redis-cluster"], /^--redis-cluster runs a local cluster: add --cluster N; usage: pnpm start \[--cluster N \[--redis-cluster\]\]/],
  ])("refuses %j with one clear line", (argv, message) => {
    let error: unknown;
    try {
      parseLaunchOptions(argv, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain("\n");
  });

  it.each([["0"], ["17"], ["two"], ["-1"]])("refuses HUB_NODES=%j naming the variable", (value) => {
    expect(() => parseLaunchOptions([], { HUB_NODES: value })).toThrow(/^HUB_NODES must be/);
  });
});
