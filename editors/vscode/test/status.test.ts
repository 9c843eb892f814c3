import assert from "node:assert/strict";
import { test } from "node:test";

import { parseStatus, statusView } from "../src/status";

test("the server's states map to status-bar views", () => {
  assert.match(statusView("ready", "Hermes is ready (hermes-4-14b)").text, /Hermes$/);
  assert.equal(statusView("ready", "Hermes is ready (hermes-4-14b)").tooltip, "Hermes is ready (hermes-4-14b)");
  assert.match(statusView("indexing", "312/1790 files").text, /indexing/);
  assert.equal(statusView("indexing", "312/1790 files").tooltip, "312/1790 files");
  assert.match(statusView("unreachable", "").text, /model unreachable/);
  assert.match(statusView("busy", "").text, /sync~spin/);
});

test("an unreachable model asks for attention and says what to check", () => {
  const view = statusView("unreachable", "cannot connect to http://127.0.0.1:8000/v1");
  assert.equal(view.background, "statusBarItem.warningBackground");
  assert.match(view.tooltip, /cannot connect to http:\/\/127\.0\.0\.1:8000\/v1/);
  assert.match(view.tooltip, /hermes\.endpoint/);
  assert.equal(statusView("ready", "").background, undefined);
});

test("a running command shows as busy, but never hides a problem", () => {
  assert.match(statusView("ready", "", 1).text, /sync~spin/);
  assert.match(statusView("unreachable", "", 1).text, /model unreachable/);
  assert.match(statusView("error", "HTTP 500", 2).tooltip, /HTTP 500/);
});

test("notifications are parsed defensively", () => {
  assert.deepEqual(parseStatus({ state: "indexing", message: "10%" }), { state: "indexing", message: "10%" });
  assert.deepEqual(parseStatus({ state: "warming-up" }), { state: "busy", message: "" });
  assert.deepEqual(parseStatus(null), { state: "busy", message: "" });
  assert.deepEqual(parseStatus({ state: "ready", message: 3 }), { state: "ready", message: "" });
});

test("suggestions switched off show as off, but never hide a problem", () => {
  assert.equal(statusView("ready", "", 0, true).text, "$(eye-closed) Hermes: off");
  assert.match(statusView("unreachable", "", 0, true).text, /model unreachable/);
  assert.match(statusView("ready", "", 1, true).text, /sync~spin/);
});
