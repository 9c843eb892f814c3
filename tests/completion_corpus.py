"""The completion corpus: realistic model answers with the document each must produce.

Each file in tests/data/completions/ holds cases for one language. A case gives the
document with ``‸`` at the cursor, the model's answer exactly as it streamed, and the
document the user should have after accepting the ghost text. ``eol: crlf`` turns the
document (not the answer: models write ``\\n``) into CRLF; ``indent: tab`` turns each
leading group of four spaces into a tab everywhere.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import yaml

from hermes_lsp.features.postprocess import Processed, decide_multiline, postprocess

CURSOR = "‸"
DATA = Path(__file__).parent / "data" / "completions"
# Characters per streamed delta, about one token.
DELTA = 4


@attrs.frozen
class Case:
    name: str
    quirk: str
    prefix: str
    suffix: str
    answer: str
    after: str
    """The whole document after accepting."""

    @property
    def wanted(self) -> str:
        """The text the user wants inserted."""
        assert self.after.startswith(self.prefix) and self.after.endswith(self.suffix), self.name
        return self.after[len(self.prefix) : len(self.after) - len(self.suffix)]


def tabs_for_spaces(text: str) -> str:
    """Each leading group of four spaces as a tab (how the corpus writes tab-indented files)."""
    out = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        depth = (len(line) - len(body)) // 4
        out.append("\t" * depth + " " * ((len(line) - len(body)) % 4) + body)
    return "\n".join(out)


def load(path: Path) -> list[Case]:
    cases = []
    for raw in yaml.safe_load(path.read_text(encoding="utf-8")):
        document, answer, after = raw["document"], raw["answer"], raw["after"]
        if raw.get("indent") == "tab":
            document, answer, after = (
                tabs_for_spaces(document),
                tabs_for_spaces(answer),
                tabs_for_spaces(after),
            )
        if raw.get("eol") == "crlf":
            document, after = document.replace("\n", "\r\n"), after.replace("\n", "\r\n")
        prefix, _, suffix = document.partition(CURSOR)
        cases.append(Case(f"{path.stem}:{raw['name']}", raw["quirk"], prefix, suffix, answer, after))
    return cases


def all_cases() -> list[Case]:
    return [case for path in sorted(DATA.glob("*.yaml")) for case in load(path)]


def stream(case: Case, *, max_lines: int = 16) -> Processed:
    """What the server shows: post-process each partial answer, stop when told, then the last."""
    text = case.prefix + case.suffix
    multiline = decide_multiline(text, len(case.prefix), "auto")
    received = ""
    for end in range(DELTA, len(case.answer) + DELTA, DELTA):
        received = case.answer[:end]
        if postprocess(
            received, case.prefix, case.suffix, multiline=multiline, max_lines=max_lines
        ).truncated:
            break
    return postprocess(received, case.prefix, case.suffix, multiline=multiline, max_lines=max_lines)
