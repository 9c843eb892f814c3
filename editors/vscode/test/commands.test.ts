import assert from "node:assert/strict";
import { test } from "node:test";

import { chooseTrace, debugRequest, looksLikeStackTrace, refactorRequest } from "../src/commands";

const range = { start: { line: 3, character: 0 }, end: { line: 9, character: 4 } };

const PYTHON_TRACE = `Traceback (most recent call last):
  File "app/main.py", line 12, in <module>
    total = parse("x")
ValueError: invalid literal for int() with base 10: 'x'
`;
const NODE_TRACE = `TypeError: Cannot read properties of undefined (reading 'id')
    at render (/srv/app/view.js:41:17)
    at main (/srv/app/index.js:8:3)`;

test("refactor sends the selection and the trimmed instruction", () => {
  assert.deepEqual(refactorRequest("file:///w/a.py", range, "  rename x to count \n"), {
    command: "hermes.refactor",
    arguments: [{ uri: "file:///w/a.py", range, instruction: "rename x to count" }],
  });
});

test("an empty or cancelled instruction sends nothing", () => {
  assert.equal(refactorRequest("file:///w/a.py", range, "   "), undefined);
  assert.equal(refactorRequest("file:///w/a.py", range, ""), undefined);
});

test("debug sends the trace with CRLF normalised and indentation kept", () => {
  const request = debugRequest(PYTHON_TRACE.replace(/\n/g, "\r\n"), "file:///w/app/main.py");
  assert.deepEqual(request, {
    command: "hermes.debug",
    arguments: [{ trace: PYTHON_TRACE.trimEnd(), uri: "file:///w/app/main.py" }],
  });
  assert.deepEqual(debugRequest(NODE_TRACE), { command: "hermes.debug", arguments: [{ trace: NODE_TRACE }] });
  assert.equal(debugRequest(" \n\n"), undefined);
});

test("stack traces of common languages are recognised, prose is not", () => {
  assert.equal(looksLikeStackTrace(PYTHON_TRACE), true);
  assert.equal(looksLikeStackTrace(NODE_TRACE), true);
  assert.equal(looksLikeStackTrace("goroutine 1 [running]:\nmain.main()\n\t/app/main.go:9 +0x1d"), true);
  assert.equal(looksLikeStackTrace("thread 'main' panicked at src/main.rs:4:5:\nboom"), true);
  assert.equal(looksLikeStackTrace("def parse(x):\n    return int(x)\n"), false);
  assert.equal(looksLikeStackTrace("remember to buy milk"), false);
});

test("a selected trace wins over the clipboard, a clipboard trace over asking", () => {
  assert.deepEqual(chooseTrace(NODE_TRACE, PYTHON_TRACE), { from: "selection", trace: NODE_TRACE });
  assert.deepEqual(chooseTrace("x = 1", PYTHON_TRACE), { from: "clipboard", trace: PYTHON_TRACE.trimEnd() });
  assert.deepEqual(chooseTrace("", "https://example.com"), { from: "ask" });
});
