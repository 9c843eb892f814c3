/**
 * The `hermes` settings section as hermes-lsp expects it.
 *
 * VS Code stores settings under flat dotted keys (`hermes.completion.debounceMs`); the
 * server takes one nested camelCase object. Keys that only the extension reads (the
 * server's path, arguments and trace level) must not reach the server: it reports
 * unknown keys, and a warning about a setting the user never got wrong is noise.
 * This module has no `vscode` import so that it can be unit-tested under plain Node.
 */

/** Settings the extension itself consumes; they are never sent to the server. */
export const CLIENT_ONLY_KEYS: readonly string[] = ["serverPath", "serverArgs", "trace.server"];

/** Every server setting, as its dotted key under `hermes.` (mirrors hermes_lsp/config.py). */
export const SERVER_KEYS: readonly string[] = [
  "endpoint",
  "model",
  "apiKey",
  "connectTimeoutMs",
  "readTimeoutMs",
  "retries",
  "completion.enable",
  "completion.endpoint",
  "completion.model",
  "completion.contextLength",
  "completion.debounceMs",
  "completion.maxTokens",
  "completion.temperature",
  "completion.multiline",
  "completion.maxLines",
  "completion.fallback",
  "completion.contextBudget",
  "completion.prefixTokens",
  "completion.suffixTokens",
  "completion.adaptiveDebounce",
  "completion.cacheSize",
  "actions.endpoint",
  "actions.model",
  "actions.contextLength",
  "actions.reasoning",
  "actions.maxSteps",
  "actions.maxTokens",
  "actions.temperature",
  "actions.contextBudget",
  "index.enable",
  "index.maxFileKb",
  "index.exclude",
  "limits.maxDocumentKb",
  "limits.maxAnswerChars",
  "limits.completionDeadlineMs",
  "limits.actionDeadlineMs",
  "limits.maxToolResultChars",
];

/**
 * String settings whose empty value means "use the server's default". The default comes
 * from the environment (`HERMES_LSP_ENDPOINT`, …), so an empty string must be left out
 * rather than sent: sending it would override the environment.
 */
const EMPTY_MEANS_DEFAULT: ReadonlySet<string> = new Set(["endpoint", "model", "apiKey"]);

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type SettingsObject = { [key: string]: JsonValue };

/** Reads one setting by its key under `hermes.`; `undefined` when the user has not set it. */
export type SettingReader = (key: string) => unknown;

/**
 * The nested camelCase object for the server, built from the user's settings.
 *
 * Only keys with a value are included; values are passed through untouched so that the
 * server, which owns validation, can name the key when a value is wrong.
 */
export function serverSettings(read: SettingReader): SettingsObject {
  const out: SettingsObject = {};
  for (const key of SERVER_KEYS) {
    const value = read(key);
    if (value === undefined || value === null) {
      continue;
    }
    if (EMPTY_MEANS_DEFAULT.has(key) && value === "") {
      continue;
    }
    setPath(out, key.split("."), value as JsonValue);
  }
  return out;
}

function setPath(target: SettingsObject, path: string[], value: JsonValue): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      node[part] = {};
    }
    node = node[part] as SettingsObject;
  }
  node[path[path.length - 1]] = value;
}

/** Whether a configuration change touched any setting the server cares about. */
export function affectsServer(affects: (section: string) => boolean): boolean {
  return SERVER_KEYS.some((key) => affects(`hermes.${key}`));
}

/** Whether a change needs the server process restarted (its command line changed). */
export function needsRestart(affects: (section: string) => boolean): boolean {
  return affects("hermes.serverPath") || affects("hermes.serverArgs");
}
