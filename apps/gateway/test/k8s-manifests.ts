// Rendering infra/k8s with the real kustomize (kubectl's) and checking each manifest against the
// Kubernetes OpenAPI schemas that kubernetes-models compiles (and the Prometheus Operator's CRDs),
// for k8s-manifests.test.ts. No cluster: everything happens on files.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { REPO_ROOT } from "@hub/devkit";
import * as monitoringV1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as appsV1 from "kubernetes-models/apps/v1";
import * as autoscalingV2 from "kubernetes-models/autoscaling/v2";
import * as networkingV1 from "kubernetes-models/networking.k8s.io/v1";
import * as policyV1 from "kubernetes-models/policy/v1";
import * as coreV1 from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";
import { kubectlBinary } from "./kubectl-binary.js";

export const K8S_DIR = join(REPO_ROOT, "infra", "k8s");

/** A rendered manifest, as YAML gives it. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked by schema, then read by path.
  spec?: any;
  data?: Record<string, string>;
}

/** `kustomize build <dir>`, parsed; `dir` relative to infra/k8s or absolute. */
export function render(dir: string): Manifest[] {
  const result = spawnSync(kubectlBinary(), ["kustomize", resolve(K8S_DIR, dir)], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${dir}: ${doc.errors[0]?.message}`);
    return doc.toJS() as Manifest;
  });
}

/**
 * An overlay with components added, the way an adopter's own overlay would do it: a kustomization
 * in a temporary directory whose resources is the overlay and whose components are the given ones.
 */
export function renderWithComponents(overlay: string, components: readonly string[]): Manifest[] {
  const dir = mkdtempSync(join(tmpdir(), "hub-k8s-"));
  try {
    const rel = (path: string) => relative(dir, join(K8S_DIR, path));
    writeFileSync(
      join(dir, "kustomization.yaml"),
      [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        `  - ${rel(overlay)}`,
        "components:",
        ...components.map((c) => `  - ${rel(c)}`),
        "",
      ].join("\n"),
    );
    return render(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubernetes-models class: built from a manifest, `validate()` runs its compiled schema. */
type Model = new (data: never) => { validate(): void };

/** Every kind infra/k8s may render, by `apiVersion/kind`; anything else is an error. */
const MODELS: Record<string, Model> = {
  "v1/ConfigMap": coreV1.ConfigMap,
  "v1/Secret": coreV1.Secret,
  "v1/Service": coreV1.Service,
  "apps/v1/Deployment": appsV1.Deployment,
  "policy/v1/PodDisruptionBudget": policyV1.PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": autoscalingV2.HorizontalPodAutoscaler,
  "networking.k8s.io/v1/Ingress": networkingV1.Ingress,
  "monitoring.coreos.com/v1/ServiceMonitor": monitoringV1.ServiceMonitor,
};

/** Throws with the schema's complaint when the manifest does not match its kind's schema. */
export function validateManifest(manifest: Manifest): void {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const model = MODELS[key];
  if (!model) throw new Error(`no schema for ${key} (${manifest.metadata?.name})`);
  try {
    new model(manifest as never).validate();
  } catch (error) {
    throw new Error(`${key} ${manifest.metadata?.name}: ${(error as Error).message}`);
  }
}

/** The one manifest of that kind and name. */
export function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as Manifest;
}

/** Values given to what a container takes from outside the manifests. */
export interface EnvSources {
  /** `valueFrom.secretKeyRef`, by key. */
  secrets: Record<string, string>;
  /** `valueFrom.fieldRef`, by field path. */
  fields: Record<string, string>;
}

/**
 * The environment a container of the Deployment would get: `envFrom` ConfigMaps looked up among
 * the manifests (by their generated names), then `env` with its references resolved. A secret key
 * missing from `sources` is left unset when the reference is optional and an error otherwise.
 */
export function containerEnv(manifests: readonly Manifest[], deployment: Manifest, sources: EnvSources): Record<string, string> {
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (!from.configMapRef) throw new Error(`${deployment.metadata.name}: only configMapRef envFrom is expected`);
    Object.assign(env, find(manifests, "ConfigMap", from.configMapRef.name).data);
  }
  for (const item of container.env ?? []) {
    if (item.value !== undefined) env[item.name] = item.value;
    else if (item.valueFrom?.fieldRef) {
      const value = sources.fields[item.valueFrom.fieldRef.fieldPath];
      if (value === undefined) throw new Error(`${item.name}: no value for field ${item.valueFrom.fieldRef.fieldPath}`);
      env[item.name] = value;
    } else if (item.valueFrom?.secretKeyRef) {
      const ref = item.valueFrom.secretKeyRef;
      const value = sources.secrets[ref.key];
      if (value !== undefined) env[item.name] = value;
      else if (!ref.optional) throw new Error(`${item.name}: secret key ${ref.key} is required`);
    } else throw new Error(`${item.name}: unexpected env source ${JSON.stringify(item.valueFrom)}`);
  }
  return env;
}
