import assert from "node:assert/strict";
import { test } from "node:test";

import { type Environment, resolveServer } from "../src/serverCommand";

function env(executables: string[], extra: Partial<Environment> = {}): Environment {
  const present = new Set(executables);
  return {
    isExecutable: (file) => present.has(file),
    pathVariable: "/usr/local/bin:/usr/bin",
    workspaceFolders: ["/home/me/project"],
    platform: "linux",
    ...extra,
  };
}

test("hermes-lsp on PATH is started with --stdio", () => {
  const result = resolveServer("", [], env(["/usr/bin/hermes-lsp"]));
  assert.deepEqual(result, { ok: true, server: { command: "/usr/bin/hermes-lsp", args: ["--stdio"] } });
});

test("a workspace .venv is found when PATH has none", () => {
  const result = resolveServer("", ["--log-file", "/tmp/h.log"], env(["/home/me/project/.venv/bin/hermes-lsp"]));
  assert.deepEqual(result, {
    ok: true,
    server: { command: "/home/me/project/.venv/bin/hermes-lsp", args: ["--log-file", "/tmp/h.log", "--stdio"] },
  });
});

test("a configured path wins and --stdio is not repeated", () => {
  const result = resolveServer("/opt/h/bin/hermes-lsp", ["--stdio"], env(["/opt/h/bin/hermes-lsp", "/usr/bin/hermes-lsp"]));
  assert.deepEqual(result, { ok: true, server: { command: "/opt/h/bin/hermes-lsp", args: ["--stdio"] } });
});

test("a missing server gives a message that says how to fix it", () => {
  const result = resolveServer("", [], env([]));
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.message : "", /not found on your PATH.*pipx install git\+https:\/\/github\.com\/hermes-lsp\/hermes-lsp.*hermes\.serverPath/);
});

test("a wrong configured path is named in the message, not silently replaced", () => {
  const result = resolveServer("/nope/hermes-lsp", [], env(["/usr/bin/hermes-lsp"]));
  assert.equal(result.ok, false);
  assert.match(!result.ok ? result.message : "", /"\/nope\/hermes-lsp"/);
});

test("pipx's ~/.local/bin is found when the extension host's PATH lacks it", () => {
  const result = resolveServer("", [], env(["/home/me/.local/bin/hermes-lsp"], { home: "/home/me" }));
  assert.deepEqual(result, { ok: true, server: { command: "/home/me/.local/bin/hermes-lsp", args: ["--stdio"] } });
});
