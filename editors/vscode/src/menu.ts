/**
 * The status-bar menu and the on/off rule for suggestions, as pure functions (no `vscode`
 * import, so they are unit-tested under plain Node).
 *
 * Suggestions can be switched off everywhere (`hermes.completion.enable`), for a language
 * (the same setting under `[language]`) and for one file (until the window closes). They
 * show only where none of the three is off; while off, no request leaves the editor.
 */

export interface Switches {
  /** `hermes.completion.enable` in the User settings. */
  global: boolean;
  /** The same setting as it applies to the file's language (a `[python]` override wins). */
  language: boolean;
  /** Not switched off for this file. */
  file: boolean;
}

export function suggestionsOn(switches: Switches): boolean {
  return switches.global && switches.language && switches.file;
}

export interface MenuContext extends Switches {
  /** The language of the file in the active editor, or undefined when there is none. */
  languageId?: string;
  /** Its file name, for the labels. */
  fileName?: string;
}

export interface MenuItem {
  label: string;
  description?: string;
  /** The command to run, and its arguments. */
  command: string;
  args?: unknown[];
}

/** What the status-bar item offers, the on/off choices first. */
export function menuItems(context: MenuContext): MenuItem[] {
  const items: MenuItem[] = [
    {
      label: context.global ? "$(eye-closed) Disable Suggestions" : "$(eye) Enable Suggestions",
      description: "everywhere",
      command: "hermes.toggleSuggestions",
      args: ["global"],
    },
  ];
  if (context.languageId !== undefined) {
    items.push({
      label: `${context.language ? "$(eye-closed) Disable" : "$(eye) Enable"} Suggestions for ${context.languageId}`,
      command: "hermes.toggleSuggestions",
      args: ["language"],
    });
  }
  if (context.fileName !== undefined) {
    items.push({
      label: `${context.file ? "$(eye-closed) Disable" : "$(eye) Enable"} Suggestions in ${context.fileName}`,
      description: "until the window closes",
      command: "hermes.toggleSuggestions",
      args: ["file"],
    });
  }
  items.push(
    { label: "$(question) Why No Suggestion?", command: "hermes.showWhyNoSuggestion" },
    { label: "$(output) Show Log", command: "hermes.showLog" },
    { label: "$(debug-restart) Restart Language Server", command: "hermes.restartServer" },
    { label: "$(gear) Open Settings", command: "hermes.openSettings" },
  );
  return items;
}
