// Drives the packaged extension in a real VS Code (code-server) from a headless Chromium:
// the status bar reports the model server; ghost text is shown, cycled and accepted with
// Tab; the status-bar menu switches suggestions off and on; a quick fix for a TypeScript
// error is picked from Ctrl+. and applied.
// Started by run.sh, which installs code-server and playwright-core and builds the .vsix.
//
// Environment: E2E_MODULES (folder whose node_modules has playwright-core), CODE_SERVER (binary), VSIX, HERMES_LSP (server binary), PYTHON (to run the
// scripted model server), CHROMIUM, OUT (screenshots and the JSON report), SCENARIO
// (empty: the features; "missing-server": HERMES_LSP names no executable; "unreachable":
// nothing answers at the model endpoint).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { createRequire } from "node:module";

const env = process.env;
// playwright-core lives with code-server in run.sh's cache folder, not in the extension.
const { chromium } = createRequire(path.join(env.E2E_MODULES ?? process.cwd(), "node_modules", "x.js"))(
  "playwright-core",
);
const OUT = env.OUT ?? fs.mkdtempSync(path.join(os.tmpdir(), "hermes-vscode-e2e-"));
const report = { steps: [], screenshots: [] };
const UNITS = "export function half(n: number): number {\n  const result: number = String(n / 2);\n  return result;\n}\n";
const children = [];
const scratch = []; // temporary folders removed at the end

function log(message) {
  const line = `[e2e ${new Date().toISOString().slice(11, 19)}] ${message}`;
  report.steps.push(line);
  console.log(line);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Start a process; resolve with it once `ready` matches its output. */
function start(name, command, args, ready, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    children.push(child);
    const logFile = fs.createWriteStream(path.join(OUT, `${name}.log`));
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${seen.slice(-2000)}`)), 60000);
    const onData = (chunk) => {
      logFile.write(chunk);
      seen += chunk.toString();
      const match = seen.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}:\n${seen.slice(-2000)}`)));
  });
}

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("exit", (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} failed:\n${output}`))));
  });
}

async function script(modelUrl, replies, fallback) {
  const base = modelUrl.replace(/\/v1$/, "");
  const response = await fetch(`${base}/_control/script`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ replies, default: fallback }),
  });
  if (!response.ok) {
    throw new Error(`scripting the model server failed: ${response.status}`);
  }
}

async function shot(page, name) {
  const file = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: file });
  report.screenshots.push(file);
  log(`screenshot ${file}`);
}

/** Open a workspace file with Quick Open, as a user would. */
async function openFile(page, name) {
  await page.keyboard.press("Escape"); // close whatever menu or toast has the focus
  await page.keyboard.press("Control+P");
  await page.locator(".quick-input-widget input").waitFor({ timeout: 20000 });
  await page.keyboard.type(name);
  // Enter only once the filtered list has the file on its focused row.
  await page.locator(".quick-input-list .monaco-list-row.focused", { hasText: name }).waitFor({ timeout: 20000 });
  await page.keyboard.press("Enter");
  await page.locator(".tab.active", { hasText: name }).waitFor({ timeout: 20000 });
  await page.locator(".monaco-editor .view-lines").first().waitFor({ timeout: 20000 });
}

/** Text of the file on disk after saving it from the editor. */
async function savedText(page, file) {
  await page.keyboard.press("Control+S");
  const before = Date.now();
  while (Date.now() - before < 10000) {
    await page.waitForTimeout(200);
    const text = fs.readFileSync(file, "utf8");
    const dirty = await page.locator(".tab.active.dirty").count();
    if (dirty === 0) {
      return text;
    }
  }
  return fs.readFileSync(file, "utf8");
}

/** A model turn that edits through `search_replace`, then the model's closing words. */
function editTurns(file, search, replace, answer) {
  const call = JSON.stringify({ name: "search_replace", arguments: { path: file, search, replace } });
  return [
    { text: `<tool_call>\n${call}\n</tool_call>`, times: 1, path: "/chat/completions" },
    { text: answer, times: 1, path: "/chat/completions" },
  ];
}

/** Save until `file` on disk satisfies `done` (at most a minute); returns its text. */
async function waitForFile(page, file, done, saveAll = false) {
  const deadline = Date.now() + 60000;
  let text = fs.readFileSync(file, "utf8");
  while (!done(text) && Date.now() < deadline) {
    await page.waitForTimeout(500);
    if (saveAll) {
      // The edit may land in an editor that is not the active one.
      await page.keyboard.press("Control+K");
      await page.keyboard.press("S");
      text = fs.readFileSync(file, "utf8");
    } else {
      text = await savedText(page, file);
    }
  }
  return text;
}

/** Run a command from the command palette (F1). */
async function runCommand(page, title) {
  await page.keyboard.press("F1");
  await page.locator(".quick-input-widget input").waitFor({ timeout: 20000 });
  await page.keyboard.type(title);
  await page.locator(".quick-input-list .monaco-list-row.focused", { hasText: title }).waitFor({ timeout: 20000 });
  await page.keyboard.press("Enter");
}

/** The workspace, the scripted model server and code-server with the extension installed. */
async function startEditor() {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), "hermes-ws-"));
  const userData = fs.mkdtempSync(path.join(os.tmpdir(), "hermes-cs-user-"));
  const extensions = fs.mkdtempSync(path.join(os.tmpdir(), "hermes-cs-ext-"));
  scratch.push(workspace, userData, extensions);
  // code-server and Chromium write config and caches under the XDG folders: keep them out of $HOME.
  const isolated = {
    ...process.env,
    XDG_CONFIG_HOME: path.join(userData, "config"),
    XDG_CACHE_HOME: path.join(userData, "cache"),
    XDG_DATA_HOME: path.join(userData, "data"),
  };
  const files = {
    shapes: path.join(workspace, "shapes.py"),
    units: path.join(workspace, "units.ts"),
    trace: path.join(workspace, "trace.txt"),
    scratch: path.join(workspace, "scratch.py"),
  };
  fs.writeFileSync(files.scratch, "def length(items):\n    \n");
  fs.writeFileSync(files.shapes, "import math\n\n\ndef area(r):\n    \n");
  fs.writeFileSync(files.units, UNITS);
  fs.writeFileSync(
    files.trace,
    `Traceback (most recent call last):\n  File "${files.shapes}", line 5, in area\n    return math.pi * r ** 2\n` +
      "TypeError: unsupported operand type(s) for ** or pow(): 'str' and 'int'\n",
  );

  const model = await start("model-server", env.PYTHON, ["-m", "hermes_lsp.scripted_server", "--port", "0"], /(http:\/\/127\.0\.0\.1:\d+\/v1)/);
  const modelUrl = model.match[1];
  log(`model server at ${modelUrl}`);

  fs.mkdirSync(path.join(userData, "User"), { recursive: true });
  const settings = {
    "hermes.serverPath": env.HERMES_LSP,
    // Nothing listens on the discard port: the "unreachable" scenario's model server.
    "hermes.endpoint": env.SCENARIO === "unreachable" ? "http://127.0.0.1:9/v1" : modelUrl,
    "hermes.completion.debounceMs": 0,
    "hermes.trace.server": "messages",
    "security.workspace.trust.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "editor.inlineSuggest.enabled": true,
    "editor.quickSuggestions": { other: false, comments: false, strings: false },
    "extensions.autoCheckUpdates": false,
    "telemetry.telemetryLevel": "off",
  };
  fs.writeFileSync(path.join(userData, "User", "settings.json"), JSON.stringify(settings, null, 2));
  const dirs = ["--user-data-dir", userData, "--extensions-dir", extensions];
  log(await run(env.CODE_SERVER, ["--install-extension", env.VSIX, ...dirs], { env: isolated }));

  const port = await freePort();
  const flags = ["--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check"];
  await start("code-server", env.CODE_SERVER, [...flags, "--disable-workspace-trust", ...dirs, workspace], /HTTP server listening/, {
    env: isolated,
  });
  log(`code-server on port ${port}`);
  return { url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`, modelUrl, files, isolated };
}

/** hermes.serverPath names nothing: the user is told what to install or set, "Open Settings"
 * shows the setting, and once the User setting is fixed the server starts. */
async function missingServer(page, status) {
  const toast = page.locator(".notification-toast", { hasText: "hermes.serverPath" }).first();
  await toast.waitFor({ timeout: 60000 });
  report.notification = (await toast.locator(".notification-list-item-message").textContent())?.trim();
  report.notificationButtons = (await toast.locator(".monaco-button").allTextContents()).map((t) => t.trim());
  await page.waitForFunction(
    () => /stopped/.test(document.querySelector(".statusbar-item[id$='hermes.status']")?.textContent ?? ""),
    null,
    { timeout: 30000 },
  );
  report.status = (await status.textContent())?.trim();
  await shot(page, "missing-server");
  // "Open Settings" lands on the setting, editable in the User tab of this remote window.
  await toast.locator(".monaco-button", { hasText: "Open Settings" }).click();
  const editor = page.locator(".settings-editor");
  await editor.waitFor({ timeout: 20000 });
  await page.waitForTimeout(1500); // the search runs after a short delay
  report.settingsFound = await editor.locator(".setting-item-contents", { hasText: "Server Path" }).count();
  report.noSettingsFound = await editor.locator(".no-results-message:visible").count();
  await shot(page, "server-path-setting");
  // The user fixes it there, in the User tab: first with a typo (a new "not found" toast),
  // then right; the server starts without a reload, and the stale toast goes.
  const input = editor.locator(".setting-item-contents", { hasText: "Server Path" }).locator("input").first();
  const setPath = async (value) => {
    await input.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type(value);
    await page.keyboard.press("Tab");
  };
  await setPath(`${env.HERMES_LSP_FIXED}-typo`);
  const again = page.locator(".notification-toast", { hasText: "-typo" });
  await again.first().waitFor({ timeout: 20000 });
  await setPath(env.HERMES_LSP_FIXED);
  const ready = await page.waitForFunction(
    () => {
      const text = (document.querySelector(".statusbar-item[id$='hermes.status']")?.textContent ?? "").trim();
      return text === "Hermes" || /indexing/.test(text) ? text : null;
    },
    null,
    { timeout: 60000 },
  );
  report.statusAfterFix = await ready.jsonValue();
  await page.waitForTimeout(1000);
  report.toastsAfterFix = await page.locator(".notification-toast:visible", { hasText: "hermes.serverPath" }).count();
  await shot(page, "server-found");
}

/** The model server does not answer: the status bar says so, and what to check. */
async function unreachable(page) {
  const seen = await page.waitForFunction(
    () => {
      const item = document.querySelector(".statusbar-item[id$='hermes.status']");
      const text = (item?.textContent ?? "").trim();
      return /unreachable/.test(text) ? { text, label: item?.getAttribute("aria-label") ?? "" } : null;
    },
    null,
    { timeout: 60000 },
  );
  ({ text: report.status, label: report.statusTooltip } = await seen.jsonValue());
  await shot(page, "model-unreachable");
}

/** The status bar once the model server answered. */
async function readyStatus(page, status) {
  await status.waitFor({ timeout: 60000 });
  // The first states may come from indexing; wait until the model server answered, and
  // read the text and its label together (indexing may start again right after).
  const ready = await page.waitForFunction(
    () => {
      const item = document.querySelector(".statusbar-item[id$='hermes.status']");
      const label = item?.getAttribute("aria-label") ?? "";
      const text = (item?.textContent ?? "").trim();
      return /is ready/.test(label) && text === "Hermes" ? { text, label } : null;
    },
    null,
    { timeout: 60000 },
  );
  ({ text: report.status, label: report.statusTooltip } = await ready.jsonValue());
  log(`status bar: ${report.status} (${report.statusTooltip})`);
}

/** Ghost text: on the empty body line of `area`, type; the suggestion shows; Tab accepts it. */
async function ghostText(page, { modelUrl, files }) {
  const here = "def area(r):\n    <CURSOR>";
  await script(
    modelUrl,
    [
      { text: "return math.pi * r * r", match: here, times: 1 },
      { text: "return math.pi * r ** 2", match: here, times: 1 },
      { text: "return math.pi * r * r", match: here },
    ],
    { text: "" },
  );
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+G");
  await page.keyboard.type("5:5");
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
  await page.keyboard.type(" ");
  await page.keyboard.press("Backspace");
  const ghost = page.locator(".ghost-text-decoration, .ghost-text");
  await ghost.first().waitFor({ timeout: 30000 });
  const ghostNow = async () => (await ghost.allTextContents()).join("").replace(/\u00a0/g, " ");
  report.ghostText = await ghostNow();
  log(`ghost text: ${report.ghostText}`);
  await shot(page, "ghost-text");
  // Alt+] (Show Next Inline Suggestion) asks for more: a different suggestion shows.
  await page.keyboard.press("Alt+BracketRight");
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline && (await ghostNow()) === report.ghostText) {
    await page.waitForTimeout(200);
  }
  report.nextGhostText = await ghostNow();
  log(`next suggestion: ${report.nextGhostText}`);
  await page.keyboard.press("Alt+BracketLeft");
  const back = Date.now() + 10000;
  while (Date.now() < back && (await ghostNow()) !== report.ghostText) {
    await page.waitForTimeout(200);
  }
  report.previousGhostText = await ghostNow();
  // Cycling may still be settling (VS Code re-asks with the same context): press Tab once the
  // suggestion is steady, and again only if it is still on screen two seconds later. (A Tab
  // pressed while an accepted suggestion's decoration lingers would indent the line.)
  for (let i = 0; i < 3 && (await ghost.count()) > 0; i++) {
    await page.waitForTimeout(300);
    await page.keyboard.press("Tab");
    const gone = Date.now() + 2000;
    while (Date.now() < gone && (await ghost.count()) > 0) {
      await page.waitForTimeout(100);
    }
  }
  await page.waitForTimeout(300);
  report.afterAccept = await savedText(page, files.shapes);
  log(`after Tab:\n${report.afterAccept}`);
}

async function modelRequests(modelUrl) {
  const seen = await (await fetch(`${modelUrl.replace(/\/v1$/, "")}/_control/requests`)).json();
  return seen.requests.length;
}

/** Pick `label` in the menu behind the Hermes status-bar item. */
async function statusMenu(page, label, screenshot) {
  await page.locator(".statusbar-item[id$='hermes.status']").first().click();
  await page.locator(".quick-input-widget .monaco-list-row").first().waitFor({ timeout: 20000 });
  if (screenshot) {
    report.menuItems = (await page.locator(".quick-input-widget .monaco-list-row .label-name").allTextContents()).map((t) =>
      t.trim(),
    );
    await shot(page, screenshot);
  }
  await page.keyboard.type(label);
  await page.locator(".quick-input-list .monaco-list-row.focused", { hasText: label }).waitFor({ timeout: 20000 });
  await page.keyboard.press("Enter");
}

/**
 * The status-bar menu: switch suggestions off everywhere; typing then sends the model no
 * request, the status bar says "off" and "Why No Suggestion?" says why; switch them back on.
 */
async function toggleFromMenu(page, { modelUrl }) {
  // A slow answer, so the spinner can be seen while it is on its way.
  await script(modelUrl, [{ text: "x = 1", first_delay: 1.5 }], { text: "" });
  await openFile(page, "scratch.py");
  await statusMenu(page, "Disable Suggestions", "status-menu");
  await page.waitForFunction(
    () => /off/.test(document.querySelector(".statusbar-item[id$='hermes.status']")?.textContent ?? ""),
    null,
    { timeout: 20000 },
  );
  report.statusOff = (await page.locator(".statusbar-item[id$='hermes.status']").first().textContent())?.trim();
  const before = await modelRequests(modelUrl);
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type("    total = ");
  await page.waitForTimeout(2000);
  report.requestsWhileOff = (await modelRequests(modelUrl)) - before;
  report.ghostWhileOff = await page.locator(".ghost-text-decoration, .ghost-text").count();
  await statusMenu(page, "Why No Suggestion?");
  const toast = page.locator(".notification-toast", { hasText: "switched off" }).first();
  await toast.waitFor({ timeout: 20000 });
  report.whyWhileOff = (await toast.locator(".notification-list-item-message").textContent())?.trim();
  await page.keyboard.press("Escape");
  await statusMenu(page, "Enable Suggestions");
  await page.waitForFunction(
    () => (document.querySelector(".statusbar-item[id$='hermes.status']")?.textContent ?? "").trim() === "Hermes",
    null,
    { timeout: 20000 },
  );
  // The menu hands the focus back to the status-bar item: back to the editor to type.
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(" ");
  await page.keyboard.press("Backspace");
  report.spinnerWhileFetching = await page
    .locator(".statusbar-item[id$='hermes.status'] .codicon-modifier-spin")
    .first()
    .waitFor({ timeout: 10000 })
    .then(() => true, () => false);
  const ghost = page.locator(".ghost-text-decoration, .ghost-text");
  await ghost.first().waitFor({ timeout: 30000 });
  report.ghostWhenOn = (await ghost.allTextContents()).join("").replace(/\u00a0/g, " ");
  await page.keyboard.press("Escape");
}

/**
 * A quick fix: TypeScript (built into VS Code) reports a type error; Ctrl+. lists Hermes'
 * fix for it; picking it resolves the action (the model runs now) and applies it.
 */
async function quickFix(page, { modelUrl, files }) {
  await script(modelUrl, editTurns("units.ts", "String(n / 2)", "n / 2", "Returned the number instead of a string."), {
    text: "",
  });
  await openFile(page, "units.ts");
  await page.locator(".monaco-editor .squiggly-error").first().waitFor({ timeout: 60000 });
  log("TypeScript reports the type error");
  await page.keyboard.press("Control+G");
  await page.keyboard.type("2:26");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Control+.");
  const fix = page.locator(".action-widget .monaco-list-row", { hasText: "Hermes: fix" }).first();
  await fix.waitFor({ timeout: 30000 });
  report.codeActions = (await page.locator(".action-widget .monaco-list-row").allTextContents()).map((t) => t.trim());
  log(`code actions: ${report.codeActions.join(" | ")}`);
  await shot(page, "quick-fix-menu");
  // Pick it with the keyboard, as a user would (a pointer overlay covers the menu for clicks).
  const focused = page.locator(".action-widget .monaco-list-row.focused");
  for (let i = 0; i < 12 && !/Hermes: fix/.test((await focused.textContent().catch(() => "")) ?? ""); i++) {
    await page.keyboard.press("ArrowDown");
  }
  await page.keyboard.press("Enter");
  report.afterQuickFix = await waitForFile(page, files.units, (text) => text.includes("= n / 2"));
  log(`after the quick fix:\n${report.afterQuickFix}`);
  await page.waitForTimeout(1500); // let the squiggle go before the screenshot
  report.errorsAfterQuickFix = await page.locator(".monaco-editor .squiggly-error").count();
  await shot(page, "quick-fix-applied");
}

/** The free-form refactor: select a line, run the command, type the instruction. */
async function refactor(page, { modelUrl, files }) {
  await script(modelUrl, editTurns("shapes.py", "math.pi * r * r", "math.pi * r ** 2", "Squared r with **."), {
    text: "",
  });
  await openFile(page, "shapes.py");
  await page.keyboard.press("Control+G");
  await page.keyboard.type("5");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  await page.keyboard.press("Shift+End");
  await runCommand(page, "Hermes: Refactor Selection");
  await page.locator(".quick-input-widget", { hasText: "How should the selected code change?" }).waitFor({ timeout: 20000 });
  await page.keyboard.type("square r with **");
  await shot(page, "refactor-input");
  await page.keyboard.press("Enter");
  report.afterRefactor = await waitForFile(page, files.shapes, (text) => text.includes("r ** 2"));
  log(`after the refactor:\n${report.afterRefactor}`);
  const seen = await (await fetch(`${modelUrl.replace(/\/v1$/, "")}/_control/requests`)).json();
  report.instructionReachedModel = seen.requests.some((r) => r.prompt.includes("square r with **"));
}

/** Debugging a stack trace: select a pasted trace, run the command; the failing frame's file is fixed. */
async function debugTrace(page, { modelUrl, files }) {
  const answer = "r arrived as a string; it is converted first.";
  await script(modelUrl, editTurns("shapes.py", "math.pi * r ** 2", "math.pi * float(r) ** 2", answer), { text: "" });
  await openFile(page, "trace.txt");
  await page.keyboard.press("Control+A");
  await runCommand(page, "Hermes: Debug a Stack Trace");
  report.afterDebug = await waitForFile(page, files.shapes, (text) => text.includes("float(r)"), true);
  log(`after debugging the trace:\n${report.afterDebug}`);
  await openFile(page, "shapes.py");
  await shot(page, "debug-applied");
}

async function main() {
  const editor = await startEditor();
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM ?? "/usr/bin/chromium",
    env: editor.isolated,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await page.goto(editor.url);
    await page.locator(".monaco-workbench").waitFor({ timeout: 60000 });
    log("workbench loaded");
    await page.locator(".monaco-workbench").click({ position: { x: 640, y: 400 } });
    await openFile(page, "shapes.py");
    log("shapes.py open");
    const status = page.locator(".statusbar-item[id$='hermes.status']").first();
    if (env.SCENARIO === "missing-server") {
      await missingServer(page, status);
      return;
    }
    if (env.SCENARIO === "unreachable") {
      await unreachable(page);
      return;
    }
    await readyStatus(page, status);
    await ghostText(page, editor);
    await toggleFromMenu(page, editor);
    await quickFix(page, editor);
    await refactor(page, editor);
    await debugTrace(page, editor);
  } catch (error) {
    await shot(page, "failure").catch(() => undefined);
    throw error;
  } finally {
    await browser.close();
  }
}

let code = 0;
try {
  await main();
} catch (error) {
  report.error = String(error?.stack ?? error);
  console.error(report.error);
  code = 1;
} finally {
  for (const child of children) {
    child.kill("SIGTERM");
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  // Keep the extension's output channel (the LSP traffic) with the report, then tidy up.
  for (const dir of scratch) {
    for (const file of fs.readdirSync(dir, { recursive: true })) {
      if (String(file).endsWith(`${path.sep}Hermes.log`)) {
        fs.copyFileSync(path.join(dir, String(file)), path.join(OUT, "hermes-output.log"));
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(OUT, "report.json"), JSON.stringify(report, null, 2));
  console.log(`report: ${path.join(OUT, "report.json")}`);
}
process.exit(code);
