#!/usr/bin/env bash
# The packaged extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3) driven by
# a headless Chromium through playwright-core. Ghost text is shown and accepted; Hermes'
# quick fix for a TypeScript error is picked from Ctrl+. and applied; the refactor command
# takes an instruction and its edit lands in the file.
#
#   editors/vscode/e2e/run.sh                 install what is missing, build the .vsix, run
#   editors/vscode/e2e/run.sh --install-only  only install (install.sh --test calls this)
#
# Installs (once, idempotent): chromium, ripgrep and libkrb5-dev from Debian; code-server and
# playwright-core from npm into .test-cache/code-server (HERMES_E2E_CACHE overrides). Screenshots
# and report.json go to $OUT (default: a new folder under /tmp), never into the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ext=$(dirname "$here")
repo=$(cd "$ext/../.." && pwd)
cache=${HERMES_E2E_CACHE:-$repo/.test-cache/code-server}
code_server_version=4.100.3
playwright_version=1.65.1

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x "$cache/node_modules/.bin/code-server" ] || [ ! -d "$cache/node_modules/playwright-core" ]; then
  # @vscode/ripgrep downloads rg from GitHub at install time; hand it Debian's instead.
  rg_cache=/tmp/vscode-ripgrep-cache-1.15.11
  mkdir -p "$rg_cache"
  tar czf "$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$(dirname "$(command -v rg)")" rg
  mkdir -p "$cache"
  [ -f "$cache/package.json" ] || echo '{"name": "hermes-vscode-e2e", "private": true}' > "$cache/package.json"
  (cd "$cache" && npm_config_yes=true npm_config_unsafe_perm=true npm install --no-audit --no-fund \
    --loglevel=error "code-server@$code_server_version" "playwright-core@$playwright_version" >/dev/null)
fi

if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

out=${OUT:-$(mktemp -d /tmp/hermes-vscode-e2e.XXXXXX)}
mkdir -p "$out"
(cd "$ext" && npm run --silent package -- --out "$out/hermes-lsp.vsix" >/dev/null)

E2E_MODULES=$cache \
CODE_SERVER=$cache/node_modules/.bin/code-server \
VSIX=$out/hermes-lsp.vsix \
HERMES_LSP=${HERMES_LSP:-$repo/.venv/bin/hermes-lsp} \
PYTHON=${PYTHON:-$repo/.venv/bin/python} \
CHROMIUM=${CHROMIUM:-$(command -v chromium)} \
OUT=$out \
  node "$here/drive.mjs"
