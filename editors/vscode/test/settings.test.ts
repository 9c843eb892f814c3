import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";

import { affectsServer, CLIENT_ONLY_KEYS, needsRestart, SERVER_KEYS, serverSettings } from "../src/settings";

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as {
  contributes: { configuration: { properties: Record<string, { default?: unknown }> } };
};
const contributed = Object.keys(manifest.contributes.configuration.properties).map((k) => k.replace(/^hermes\./, ""));

test("every contributed setting is either sent to the server or used by the extension", () => {
  assert.deepEqual([...contributed].sort(), [...SERVER_KEYS, ...CLIENT_ONLY_KEYS].sort());
});

test("user values become one nested camelCase object", () => {
  const values: Record<string, unknown> = {
    endpoint: "http://gpu-box:8000/v1",
    "completion.debounceMs": 120,
    "completion.multiline": "never",
    "index.exclude": ["vendor/**"],
    "actions.reasoning": false,
  };
  assert.deepEqual(
    serverSettings((key) => values[key]),
    {
      endpoint: "http://gpu-box:8000/v1",
      completion: { debounceMs: 120, multiline: "never" },
      actions: { reasoning: false },
      index: { exclude: ["vendor/**"] },
    },
  );
});

test("settings the user has not set are left to the server's defaults", () => {
  assert.deepEqual(serverSettings(() => undefined), {});
});

test("an empty endpoint, model or key is left out so the environment variables still apply", () => {
  const values: Record<string, unknown> = { endpoint: "", model: "", apiKey: "", "completion.enable": false };
  assert.deepEqual(serverSettings((key) => values[key]), { completion: { enable: false } });
});

test("editor-only settings never reach the server", () => {
  const sent = serverSettings((key) => (key === "serverPath" ? "/opt/hermes-lsp" : undefined));
  assert.deepEqual(sent, {});
});

test("a bad value is passed through for the server to report by name", () => {
  const sent = serverSettings((key) => (key === "completion.debounceMs" ? "fast" : undefined));
  assert.deepEqual(sent, { completion: { debounceMs: "fast" } });
});

test("changing the server path restarts; changing a server setting only notifies", () => {
  const only = (section: string) => (s: string) => s === section;
  assert.equal(needsRestart(only("hermes.serverPath")), true);
  assert.equal(needsRestart(only("hermes.completion.debounceMs")), false);
  assert.equal(affectsServer(only("hermes.completion.debounceMs")), true);
  assert.equal(affectsServer(only("hermes.trace.server")), false);
  assert.equal(affectsServer(only("editor.fontSize")), false);
});
