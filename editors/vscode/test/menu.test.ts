import assert from "node:assert/strict";
import { test } from "node:test";

import { menuItems, suggestionsOn } from "../src/menu";

test("suggestions show only where no scope switched them off", () => {
  assert.equal(suggestionsOn({ global: true, language: true, file: true }), true);
  assert.equal(suggestionsOn({ global: false, language: true, file: true }), false);
  assert.equal(suggestionsOn({ global: true, language: false, file: true }), false);
  assert.equal(suggestionsOn({ global: true, language: true, file: false }), false);
});

test("the menu offers each switch in the direction that changes it, then the tools", () => {
  const items = menuItems({ global: true, language: false, file: true, languageId: "python", fileName: "shapes.py" });
  assert.deepEqual(
    items.map((i) => i.label),
    [
      "$(eye-closed) Disable Suggestions",
      "$(eye) Enable Suggestions for python",
      "$(eye-closed) Disable Suggestions in shapes.py",
      "$(question) Why No Suggestion?",
      "$(output) Show Log",
      "$(debug-restart) Restart Language Server",
      "$(gear) Open Settings",
    ],
  );
  assert.deepEqual(items[1], { label: "$(eye) Enable Suggestions for python", command: "hermes.toggleSuggestions", args: ["language"] });
});

test("without an editor the menu has no language or file switch", () => {
  const items = menuItems({ global: false, language: true, file: true });
  assert.equal(items[0].label, "$(eye) Enable Suggestions");
  assert.equal(items.filter((i) => i.command === "hermes.toggleSuggestions").length, 1);
});
