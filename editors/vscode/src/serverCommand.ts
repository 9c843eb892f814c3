/**
 * Finding the `hermes-lsp` executable, and the message shown when it cannot be found.
 * Pure apart from the injected file-system check, so that it can be unit-tested.
 */
import * as path from "node:path";

export interface ServerCommand {
  command: string;
  args: string[];
}

export type Resolution = { ok: true; server: ServerCommand } | { ok: false; message: string };

export interface Environment {
  /** Whether `file` exists and is executable. */
  isExecutable: (file: string) => boolean;
  /** The `PATH` variable. */
  pathVariable: string;
  /** Absolute paths of the open workspace folders. */
  workspaceFolders: string[];
  /** The user's home folder: pipx puts hermes-lsp in ~/.local/bin, which a remote
   * extension host's PATH often lacks. */
  home?: string;
  platform: NodeJS.Platform;
}

// Plain text: VS Code's notifications do not render code spans.
export const INSTALL_HINT =
  "It is not on PyPI: install it with pipx install git+https://github.com/hermes-lsp/hermes-lsp " +
  "(or run ./install.sh in a clone), or set hermes.serverPath to the full path of the executable.";

/**
 * The command line that starts the server. A configured path wins; otherwise the first
 * `hermes-lsp` on `PATH`, then a workspace virtual environment (`.venv`), which is where
 * a clone's `install.sh` puts it, then `~/.local/bin` (pipx).
 */
export function resolveServer(configured: string, extraArgs: string[], env: Environment): Resolution {
  const args = [...extraArgs.filter((a) => a !== "--stdio"), "--stdio"];
  const exe = env.platform === "win32" ? "hermes-lsp.exe" : "hermes-lsp";
  const bin = env.platform === "win32" ? "Scripts" : "bin";
  const wanted = configured.trim();
  if (wanted !== "") {
    const file = expandHome(wanted);
    if (env.isExecutable(file)) {
      return { ok: true, server: { command: file, args } };
    }
    return {
      ok: false,
      message: `hermes.serverPath is set to "${wanted}", but no executable is there. ${INSTALL_HINT}`,
    };
  }
  const separator = env.platform === "win32" ? ";" : ":";
  const candidates = [
    ...env.pathVariable
      .split(separator)
      .filter((dir) => dir !== "")
      .map((dir) => path.join(dir, exe)),
    ...env.workspaceFolders.map((folder) => path.join(folder, ".venv", bin, exe)),
    ...(env.home !== undefined ? [path.join(env.home, ".local", "bin", exe)] : []),
  ];
  const found = candidates.find((file) => env.isExecutable(file));
  if (found !== undefined) {
    return { ok: true, server: { command: found, args } };
  }
  return {
    ok: false,
    message: `hermes-lsp was not found on your PATH, in the workspace's .venv or in ~/.local/bin. ${INSTALL_HINT}`,
  };
}

function expandHome(file: string): string {
  const home = process.env.HOME ?? process.env.USERPROFILE;
  if (home !== undefined && (file === "~" || file.startsWith("~/"))) {
    return path.join(home, file.slice(1));
  }
  return file;
}
