/**
 * Arguments of the server's `workspace/executeCommand` commands, and the choice of the
 * stack trace to debug. The server applies the resulting edits itself (through
 * `workspace/applyEdit`), so the extension only has to send well-formed arguments.
 */

/** LSP position and range (0-based, UTF-16), as the server expects them. */
export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}

export const REFACTOR_COMMAND = "hermes.refactor";
export const DEBUG_COMMAND = "hermes.debug";

export interface ExecuteCommandParams {
  command: string;
  arguments: unknown[];
}

/** `hermes.refactor` for a selection; `undefined` when there is nothing to ask for. */
export function refactorRequest(uri: string, range: Range, instruction: string): ExecuteCommandParams | undefined {
  const trimmed = instruction.trim();
  if (trimmed === "") {
    return undefined;
  }
  return { command: REFACTOR_COMMAND, arguments: [{ uri, range, instruction: trimmed }] };
}

/** `hermes.debug` for a stack trace, with the document the user is looking at, if any. */
export function debugRequest(trace: string, uri?: string): ExecuteCommandParams | undefined {
  const text = normalizeTrace(trace);
  if (text === "") {
    return undefined;
  }
  const args: { trace: string; uri?: string } = { trace: text };
  if (uri !== undefined) {
    args.uri = uri;
  }
  return { command: DEBUG_COMMAND, arguments: [args] };
}

/** Windows line endings and surrounding blank lines removed; indentation kept (it matters in traces). */
export function normalizeTrace(trace: string): string {
  return trace.replace(/\r\n?/g, "\n").replace(/^\s*\n/, "").trimEnd();
}

const TRACE_MARKERS: readonly RegExp[] = [
  /Traceback \(most recent call last\)/, // Python
  /^\s+at .+[(:]\S+:\d+/m, // JavaScript, Java, C#
  /^\s*File "[^"]+", line \d+/m, // Python frames
  /goroutine \d+ \[/, // Go
  /panicked at/, // Rust
  /^\s*#\d+\s+0x[0-9a-f]+/im, // gdb / sanitizers
  /\w+(Error|Exception)\b.*\n/, // a named exception followed by more lines
];

/** A cheap guess whether `text` is a stack trace (used to pick between selection and clipboard). */
export function looksLikeStackTrace(text: string): boolean {
  return TRACE_MARKERS.some((marker) => marker.test(text));
}

export type TraceSource = { from: "selection" | "clipboard"; trace: string } | { from: "ask" };

/**
 * Where the trace comes from: a selected trace first (the user pointed at it), then a
 * trace on the clipboard (the usual "copy from the terminal" case); otherwise ask.
 */
export function chooseTrace(selection: string, clipboard: string): TraceSource {
  if (normalizeTrace(selection) !== "" && looksLikeStackTrace(selection)) {
    return { from: "selection", trace: normalizeTrace(selection) };
  }
  if (normalizeTrace(clipboard) !== "" && looksLikeStackTrace(clipboard)) {
    return { from: "clipboard", trace: normalizeTrace(clipboard) };
  }
  return { from: "ask" };
}
