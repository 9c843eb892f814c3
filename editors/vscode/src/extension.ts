/**
 * The Hermes extension: starts `hermes-lsp --stdio` with vscode-languageclient (which
 * registers inline completion, code actions and the server's commands), shows the
 * server's state in the status bar with a menu behind it (suggestions on/off, why none
 * showed, log, restart, settings), and adds the refactor and stack-trace commands.
 */
import * as fs from "node:fs";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State,
} from "vscode-languageclient/node";

import { chooseTrace, debugRequest, type ExecuteCommandParams, refactorRequest } from "./commands";
import { menuItems, type Switches, suggestionsOn } from "./menu";
import { resolveServer } from "./serverCommand";
import { affectsServer, needsRestart, serverSettings, type SettingsObject } from "./settings";
import { parseStatus, type ServerState, statusView } from "./status";

const STATUS_NOTIFICATION = "hermes/status";

let client: LanguageClient | undefined;
let log: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
let serverState: ServerState = "starting";
let serverMessage = "";
let running = 0;
/** Inline-completion requests on their way (the status bar spins meanwhile). */
let fetching = 0;
/** Whether the "hermes-lsp not found" toast is still on screen. */
let notFoundShowing = false;
/** Files whose suggestions were switched off from the menu (until the window closes). */
const filesOff = new Set<string>();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel("Hermes", { log: true });
  statusItem = vscode.window.createStatusBarItem("hermes.status", vscode.StatusBarAlignment.Right, 100);
  statusItem.name = "Hermes";
  statusItem.command = "hermes.showMenu";
  statusItem.show();
  context.subscriptions.push(
    log,
    statusItem,
    vscode.commands.registerCommand("hermes.refactorSelection", refactorSelection),
    vscode.commands.registerCommand("hermes.debugStackTrace", debugStackTrace),
    vscode.commands.registerCommand("hermes.restartServer", restart),
    vscode.commands.registerCommand("hermes.showLog", () => log.show()),
    vscode.commands.registerCommand("hermes.showMenu", showMenu),
    vscode.commands.registerCommand("hermes.toggleSuggestions", toggleSuggestions),
    vscode.commands.registerCommand("hermes.showWhyNoSuggestion", whyNoSuggestion),
    vscode.commands.registerCommand("hermes.openSettings", openSettings),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    vscode.window.onDidChangeActiveTextEditor(() => render()),
  );
  await startClient();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

// -- the language client ------------------------------------------------------------------

function readSetting(key: string): unknown {
  const config = vscode.workspace.getConfiguration("hermes");
  const inspected = config.inspect(key);
  // Send only what the user set: the server's own defaults (and the environment) apply otherwise.
  if (
    inspected?.globalValue === undefined &&
    inspected?.workspaceValue === undefined &&
    inspected?.workspaceFolderValue === undefined
  ) {
    return undefined;
  }
  return config.get(key);
}

function currentSettings(): SettingsObject {
  return serverSettings(readSetting);
}

async function startClient(): Promise<void> {
  const config = vscode.workspace.getConfiguration("hermes");
  const resolution = resolveServer(config.get<string>("serverPath", ""), config.get<string[]>("serverArgs", []), {
    isExecutable,
    pathVariable: process.env.PATH ?? "",
    workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    platform: process.platform,
    home: process.env.HOME ?? process.env.USERPROFILE,
  });
  if (!resolution.ok) {
    setState("stopped", resolution.message);
    log.error(resolution.message);
    notFoundShowing = true;
    void vscode.window.showErrorMessage(resolution.message, "Open Settings", "Show Log").then((choice) => {
      notFoundShowing = false;
      if (choice === "Open Settings") {
        void openSettings("hermes.serverPath");
      } else if (choice === "Show Log") {
        log.show();
      }
    });
    return;
  }
  log.info(`starting ${resolution.server.command} ${resolution.server.args.join(" ")}`);
  const serverOptions: ServerOptions = {
    command: resolution.server.command,
    args: resolution.server.args,
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    outputChannel: log,
    traceOutputChannel: log,
    initializationOptions: currentSettings(),
    middleware: {
      // While suggestions are off for the file, no request leaves the editor; while one is
      // on its way, the status bar spins.
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (!suggestionsOn(switches(document))) {
          return undefined;
        }
        fetching += 1;
        render();
        try {
          return await next(document, position, context, token);
        } finally {
          fetching -= 1;
          render();
        }
      },
      // The completion-menu fallback asks the model too: the same switches apply.
      provideCompletionItem: (document, position, context, token, next) =>
        suggestionsOn(switches(document)) ? next(document, position, context, token) : undefined,
      workspace: {
        // The server asks for the "hermes" section; answer with the mapped settings so that
        // editor-only keys (serverPath, trace) never reach it.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, i): unknown => (item.section === "hermes" ? currentSettings() : answers[i]));
        },
      },
    },
  };
  const created = new LanguageClient("hermes", "Hermes", serverOptions, clientOptions);
  client = created;
  created.onDidChangeState((event) => {
    log.info(`client state ${State[event.oldState]} -> ${State[event.newState]}`);
    if (event.newState === State.Starting) {
      setState("starting", "");
    } else if (event.newState === State.StartFailed) {
      setState("stopped", `hermes-lsp failed to start (${resolution.server.command}); see “Hermes: Show Log”.`);
    } else if (event.newState === State.Stopped) {
      // Keep the reason a failed start gave; a plain stop has none.
      setState("stopped", serverState === "stopped" ? serverMessage : "");
    } else {
      // Running only means the process answered `initialize`; "ready" waits for the
      // server's own hermes/status, which it sends once it has asked the model server.
      setState("starting", "Checking the model server…");
    }
  });
  created.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
    const { state, message } = parseStatus(params);
    setState(state, message);
  });
  setState("starting", "");
  try {
    await created.start();
    if (notFoundShowing) {
      // The user fixed the path while the "not found" toast was up: it is no longer true.
      // The API cannot close one toast, so hide the toasts (they stay in the notification list).
      notFoundShowing = false;
      void vscode.commands.executeCommand("notifications.hideToasts");
    }
  } catch (error) {
    const message = `hermes-lsp failed to start: ${String(error)}`;
    setState("stopped", message);
    log.error(message);
    void vscode.window.showErrorMessage(message);
  }
}

async function stopClient(): Promise<void> {
  const current = client;
  client = undefined;
  if (current !== undefined && current.isRunning()) {
    await current.stop();
  }
}

/** Restarts run one after another: typing a path in the settings editor saves it several
 * times, and overlapping restarts could leave a stale "not found" behind a running server. */
let restarting: Promise<void> = Promise.resolve();

function restart(): Promise<void> {
  restarting = restarting
    .then(async () => {
      await stopClient();
      await startClient();
    })
    .catch((error: unknown) => {
      // A failed restart must not block the next one.
      log.error(`restarting hermes-lsp failed: ${String(error)}`);
    });
  return restarting;
}

function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
  const affects = (section: string): boolean => event.affectsConfiguration(section);
  if (needsRestart(affects)) {
    void restart();
    return;
  }
  if (affectsServer(affects) && client?.isRunning()) {
    void client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { hermes: currentSettings() },
    });
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// -- status bar ---------------------------------------------------------------------------

function setState(state: ServerState, message: string): void {
  serverState = state;
  serverMessage = message;
  render();
}

function render(): void {
  const document = vscode.window.activeTextEditor?.document;
  const off = document !== undefined && !suggestionsOn(switches(document));
  const view = statusView(serverState, serverMessage, running + fetching, off);
  statusItem.text = view.text;
  statusItem.tooltip = view.tooltip;
  statusItem.backgroundColor = view.background ? new vscode.ThemeColor(view.background) : undefined;
}

// -- suggestions on and off, and the menu ---------------------------------------------------

function switches(document?: vscode.TextDocument): Switches {
  const global = vscode.workspace.getConfiguration("hermes").inspect<boolean>("completion.enable");
  // Only a `[language]` value counts here: the effective value would repeat the global one.
  const forLanguage = document
    ? vscode.workspace.getConfiguration("hermes", { languageId: document.languageId }).inspect<boolean>("completion.enable")
    : undefined;
  return {
    global: (global?.globalValue ?? global?.defaultValue ?? true) !== false,
    language:
      (forLanguage?.workspaceFolderLanguageValue ??
        forLanguage?.workspaceLanguageValue ??
        forLanguage?.globalLanguageValue) !== false,
    file: document === undefined || !filesOff.has(document.uri.toString()),
  };
}

async function toggleSuggestions(scope: "global" | "language" | "file" = "global"): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  const now = switches(document);
  if (scope === "file" && document !== undefined) {
    const key = document.uri.toString();
    if (now.file) {
      filesOff.add(key);
    } else {
      filesOff.delete(key);
    }
  } else if (scope === "language" && document !== undefined) {
    await vscode.workspace
      .getConfiguration("hermes", { languageId: document.languageId })
      .update("completion.enable", !now.language, vscode.ConfigurationTarget.Global, true);
  } else {
    await vscode.workspace
      .getConfiguration("hermes")
      .update("completion.enable", !now.global, vscode.ConfigurationTarget.Global);
  }
  log.info(`suggestions ${suggestionsOn(switches(document)) ? "on" : "off"} (${scope} switch)`);
  render();
}

async function showMenu(): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  const items = menuItems({
    ...switches(document),
    languageId: document?.languageId,
    fileName: document ? document.uri.path.split("/").pop() : undefined,
  });
  const picked = await vscode.window.showQuickPick(items, { title: `Hermes: ${serverMessage || serverState}` });
  if (picked !== undefined) {
    await vscode.commands.executeCommand(picked.command, ...(picked.args ?? []));
  }
}

async function whyNoSuggestion(): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  let message: string;
  if (document !== undefined && !suggestionsOn(switches(document))) {
    message = "Suggestions are switched off here (see the Hermes menu in the status bar).";
  } else if (document === undefined || client === undefined || !client.isRunning()) {
    message = serverMessage || "hermes-lsp is not running.";
  } else {
    const answer: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
      command: "hermes.whyNoSuggestion",
      arguments: [{ uri: client.code2ProtocolConverter.asUri(document.uri) }],
    });
    message = (answer as { message?: string } | null)?.message ?? "No answer from hermes-lsp.";
  }
  log.info(`why no suggestion: ${message}`);
  void vscode.window.showInformationMessage(`Hermes: ${message}`);
}

/** The settings editor on Hermes' settings, or on one of them. The server's path is a
 * window setting, so in a remote window (code-server, SSH) it shows in the User tab too. */
async function openSettings(query = "@ext:hermes-lsp.hermes-lsp"): Promise<void> {
  await vscode.commands.executeCommand("workbench.action.openSettings", query);
}

// -- commands -----------------------------------------------------------------------------

/** Send one of the server's commands, showing progress; the server applies the edits. */
async function runServerCommand(title: string, params: ExecuteCommandParams): Promise<void> {
  const current = client;
  if (current === undefined || !current.isRunning()) {
    void vscode.window.showErrorMessage("hermes-lsp is not running. Run “Hermes: Restart Language Server”.");
    return;
  }
  running += 1;
  render();
  try {
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (_progress, token) => current.sendRequest(ExecuteCommandRequest.type, params, token),
    );
  } catch (error) {
    if (!(error instanceof vscode.CancellationError)) {
      const message = error instanceof Error ? error.message : String(error);
      log.error(`${params.command} failed: ${message}`);
      void vscode.window.showErrorMessage(`Hermes: ${message}`);
    }
  } finally {
    running -= 1;
    render();
  }
}

async function refactorSelection(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (editor === undefined || editor.selection.isEmpty || client === undefined) {
    void vscode.window.showInformationMessage("Select the code you want Hermes to change first.");
    return;
  }
  const instruction = await vscode.window.showInputBox({
    title: "Hermes: Refactor Selection",
    prompt: "How should the selected code change?",
    placeHolder: "e.g. extract the loop body into a function named parse_row",
    ignoreFocusOut: true,
  });
  const request = refactorRequest(
    client.code2ProtocolConverter.asUri(editor.document.uri),
    client.code2ProtocolConverter.asRange(editor.selection),
    instruction ?? "",
  );
  if (request !== undefined) {
    await runServerCommand("Hermes: refactoring…", request);
  }
}

async function debugStackTrace(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const selection = editor && !editor.selection.isEmpty ? editor.document.getText(editor.selection) : "";
  // The clipboard only when the selection is no trace: reading it may ask the user for
  // permission (VS Code in a browser), which a selected trace should not wait for.
  let source = chooseTrace(selection, "");
  if (source.from === "ask") {
    source = chooseTrace("", await vscode.env.clipboard.readText());
  }
  if (source.from === "ask") {
    // An input box is a single line; a trace needs an editor to be pasted into.
    const doc = await vscode.workspace.openTextDocument({ language: "plaintext", content: "" });
    await vscode.window.showTextDocument(doc);
    void vscode.window.showInformationMessage(
      "Paste the stack trace here, select it, and run “Hermes: Debug a Stack Trace…” again.",
    );
    return;
  }
  const uri = editor && editor.document.uri.scheme === "file" ? editor.document.uri.toString() : undefined;
  const request = debugRequest(source.trace, uri);
  if (request !== undefined) {
    log.info(`debugging a stack trace from the ${source.from}`);
    await runServerCommand("Hermes: debugging the stack trace…", request);
  }
}
