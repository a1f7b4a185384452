// The check that JSON schemas of Kubernetes leave out: fields the API does not know. The OpenAPI
// schemas (and the validators compiled from them) allow any extra property, so a misspelt
// `readinesProbe` passes them while the API server drops it. Here each manifest is type-checked
// as an object literal of its kind's TypeScript interface from kubernetes-models, whose excess
// property check names every unknown field, at any depth.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import type { Manifest } from "./k8s-manifests.js";

/** The interface of each kind infra/k8s renders: [module, interface]. */
const TYPES: Record<string, [string, string]> = {
  "v1/ConfigMap": ["kubernetes-models/v1", "IConfigMap"],
  "v1/Secret": ["kubernetes-models/v1", "ISecret"],
  "v1/Service": ["kubernetes-models/v1", "IService"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1", "IDeployment"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1", "IPodDisruptionBudget"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["kubernetes-models/autoscaling/v2", "IHorizontalPodAutoscaler"],
  "networking.k8s.io/v1/Ingress": ["kubernetes-models/networking.k8s.io/v1", "IIngress"],
  "monitoring.coreos.com/v1/ServiceMonitor": ["@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1", "IServiceMonitor"],
};

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

/**
 * One line per problem, `<Kind>/<name>: <compiler message>`, for every field of the manifests that
 * their kind's interface does not have (or of the wrong type); empty when all are known. One
 * TypeScript program checks them all (a few seconds).
 *
 * @example
 * expect(unknownFields(render("overlays/single"))).toEqual([]);
 */
export function unknownFields(manifests: readonly Manifest[]): string[] {
  // Beside this file, so the imports resolve from apps/gateway's node_modules; never written to disk.
  const file = join(dirname(fileURLToPath(import.meta.url)), "__k8s-known-fields__.ts");
  const imports = new Map<string, string>();
  const lines = manifests.map((manifest, i) => {
    const key = `${manifest.apiVersion}/${manifest.kind}`;
    const type = TYPES[key];
    if (!type) throw new Error(`no interface for ${key}`);
    const alias = `T${imports.size}`;
    if (!imports.has(type.join("#"))) imports.set(type.join("#"), alias);
    return `export const m${i}: ${imports.get(type.join("#"))} = ${JSON.stringify(manifest)};`;
  });
  const header = [...imports].map(([type, alias]) => {
    const [module, name] = type.split("#");
    return `import type { ${name} as ${alias} } from "${module}";`;
  });
  const text = [...header, ...lines].join("\n");
  const host = ts.createCompilerHost(OPTIONS);
  const readFromDisk = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, text, language) : readFromDisk(name, language, ...rest);
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || exists(name);
  const program = ts.createProgram([file], OPTIONS, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const manifest = manifests[line - header.length];
      const where = manifest ? `${manifest.kind}/${manifest.metadata.name}` : `line ${line + 1}`;
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
    });
}
