#!/bin/sh
# Builds one app and deploys it with its production dependencies only, ready to run as
# `node dist/main.js` from the target directory:
#
#   scripts/deploy-app.sh <gateway|queue-worker> <target dir> [pnpm deploy options]
#
# infra/docker/Dockerfile runs exactly this (with `--store-dir /pnpm/store`), so a local run shows
# what the image gets. The target directory is replaced. It ends with dependencies.txt, the list of
# every installed package, and the script fails if a dev tool (tsx, TypeScript, vitest, ...) is in it
# or a version is not one pnpm-lock.yaml pins.
set -eu

if [ $# -lt 2 ]; then
  echo "usage: $0 <gateway|queue-worker> <target dir> [pnpm deploy options]" >&2
  exit 2
fi
app="$1"
target="$2"
shift 2

cd "$(dirname "$0")/.."

# The app and every workspace package it depends on (turbo's ^build), each to its dist/.
pnpm exec turbo run build --filter="@hub/$app"

rm -rf "$target"
# --legacy: the workspace does not inject its packages (they stay symlinks to the sources for
# `pnpm start` and the tests); a legacy deploy copies them instead. It resolves the dependencies
# again, preferring the lockfile's versions, so it reads package metadata from the registry (not
# --offline); the tarballs come from the store.
pnpm --filter "@hub/$app" deploy --legacy --prod "$@" "$target"

node scripts/finish-deploy.mjs "$target"
