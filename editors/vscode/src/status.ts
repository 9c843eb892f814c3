/**
 * What the status-bar item shows, as a pure function of the server's state.
 *
 * The server sends `hermes/status` notifications (`ready`, `indexing`, `unreachable`,
 * `busy`, `error`); the extension adds its own "busy" while a refactor or debug command
 * it started is running, and "starting"/"stopped" around the server's life cycle.
 */

export type ServerState = "starting" | "ready" | "indexing" | "unreachable" | "busy" | "error" | "stopped";

export interface StatusParams {
  state: string;
  message?: string;
}

export interface StatusView {
  /** Status-bar text, with a codicon. */
  text: string;
  tooltip: string;
  /** Theme colour id for the background, for states that need the user's attention. */
  background?: "statusBarItem.errorBackground" | "statusBarItem.warningBackground";
}

const KNOWN: ReadonlySet<string> = new Set([
  "starting",
  "ready",
  "indexing",
  "unreachable",
  "busy",
  "error",
  "stopped",
]);

/** The server's state from a `hermes/status` notification; unknown states read as `busy`. */
export function parseStatus(params: unknown): { state: ServerState; message: string } {
  if (typeof params !== "object" || params === null) {
    return { state: "busy", message: "" };
  }
  const { state, message } = params as Partial<StatusParams>;
  const known = typeof state === "string" && KNOWN.has(state);
  return {
    state: known ? (state as ServerState) : "busy",
    message: typeof message === "string" ? message : "",
  };
}

/**
 * The view for a server state, given how many commands and suggestions of ours are on
 * their way, and whether suggestions are off for the file in view. Work under way shows
 * as busy over `ready` and `indexing`, but never hides a problem.
 */
export function statusView(state: ServerState, message: string, runningCommands = 0, off = false): StatusView {
  if (runningCommands > 0 && (state === "ready" || state === "indexing")) {
    return view("$(sync~spin) Hermes", `Hermes is working${message ? `: ${message}` : "…"}`);
  }
  if (off && state === "ready") {
    return view("$(eye-closed) Hermes: off", "Suggestions are off here. Click for the Hermes menu.");
  }
  switch (state) {
    case "starting":
      return view("$(loading~spin) Hermes", message || "Starting hermes-lsp…");
    case "ready":
      return view("$(sparkle) Hermes", message || "Hermes is ready");
    case "indexing":
      return view("$(sync~spin) Hermes: indexing", message || "Indexing the workspace…");
    case "busy":
      return view("$(sync~spin) Hermes", message || "Hermes is working…");
    case "unreachable":
      return view(
        "$(debug-disconnect) Hermes: model unreachable",
        `${message || "The model server does not answer."} Check hermes.endpoint, or run \`hermes-lsp doctor\`.`,
        "statusBarItem.warningBackground",
      );
    case "error":
      return view("$(error) Hermes", message || "The model server returned an error.", "statusBarItem.errorBackground");
    case "stopped":
      return view(
        "$(circle-slash) Hermes: stopped",
        message || "hermes-lsp is not running. Run “Hermes: Restart Language Server”.",
        "statusBarItem.errorBackground",
      );
  }
}

function view(text: string, tooltip: string, background?: StatusView["background"]): StatusView {
  return background ? { text, tooltip, background } : { text, tooltip };
}
