"""Edit tools applied to in-memory files, and the WorkspaceEdit they become."""

from __future__ import annotations

import os

import pytest
import tree_sitter
from lsprotocol import types

from hermes_lsp.edits import EditError, EditSet, OpenText
from hermes_lsp.model.tools import ToolCall
from hermes_lsp.uris import from_path

SHAPES = '''"""Shapes."""
import math


class Circle:
    def __init__(self, r):
        self.r = r

    @property
    def area(self):
        return math.pi * self.r ** 2


def total(shapes):
    result = 0
    for s in shapes:
        result += s.area
    return result
'''


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "shapes.py").write_text(SHAPES)
    (tmp_path / ".gitignore").write_text("secrets/\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "keys.py").write_text("KEY = 1\n")
    return tmp_path


def edit_set(root, open_docs: dict | None = None) -> EditSet:
    docs = open_docs or {}
    return EditSet(str(root), lambda uri: docs.get(uri))


def call(name: str, **arguments) -> ToolCall:
    return ToolCall(name, arguments)


def test_replace_symbol_replaces_a_method_with_its_decorator_and_reindents(workspace):
    edits = edit_set(workspace)
    code = "@property\ndef area(self):\n    return 3.14159 * self.r * self.r\n"
    edits.apply(call("replace_symbol", path="shapes.py", symbol="Circle.area", code=code))
    text = edits.files["shapes.py"].text
    assert "    @property\n    def area(self):\n        return 3.14159 * self.r * self.r\n" in text
    assert text.count("@property") == 1 and "math.pi" not in text
    assert edits.syntax_problems() == []


def test_replace_symbol_unknown_name_lists_what_exists(workspace):
    with pytest.raises(
        EditError, match=r"no definition named Square in shapes.py; definitions there: .*Circle"
    ):
        edit_set(workspace).apply(call("replace_symbol", path="shapes.py", symbol="Square", code="x"))


def test_search_replace_exact_then_whitespace_then_indentation(workspace):
    edits = edit_set(workspace)
    edits.apply(call("search_replace", path="shapes.py", search="result = 0", replace="result = 0.0"))
    # Different spacing inside the line.
    edits.apply(
        call(
            "search_replace", path="shapes.py", search="for s   in shapes:", replace="for s in list(shapes):"
        )
    )
    # Indented differently from the file: the replacement is re-indented to match.
    edits.apply(
        call(
            "search_replace",
            path="shapes.py",
            search="result += s.area\nreturn result",
            replace="result += s.area\nreturn round(result, 2)",
        )
    )
    text = edits.files["shapes.py"].text
    expected = "    result = 0.0\n    for s in list(shapes):\n        result += s.area\n"
    expected += "    return round(result, 2)\n"
    assert expected in text


def test_search_replace_absent_or_ambiguous_is_an_error_for_the_model(workspace):
    edits = edit_set(workspace)
    with pytest.raises(EditError, match="search text not found in shapes.py"):
        edits.apply(call("search_replace", path="shapes.py", search="radius", replace="r"))
    with pytest.raises(EditError, match="occurs 2 times"):
        edits.apply(call("search_replace", path="shapes.py", search="self.r", replace="self.radius"))
    assert edits.changed() == []  # nothing was half-applied


def test_insert_code_before_and_after_a_definition(workspace):
    edits = edit_set(workspace)
    edits.apply(call("insert_code", path="shapes.py", anchor="total", where="before", code="PI = 3.14159\n"))
    edits.apply(
        call(
            "insert_code",
            path="shapes.py",
            anchor="Circle.area",
            where="after",
            code="def scale(self, k):\n    self.r *= k",
        )
    )
    text = edits.files["shapes.py"].text
    assert "PI = 3.14159\n\n\ndef total(shapes):" in text  # spaced like the file
    assert "self.r ** 2\n\n    def scale(self, k):\n        self.r *= k\n" in text
    assert edits.syntax_problems() == []


def test_create_file_and_refusing_to_overwrite(workspace):
    edits = edit_set(workspace)
    edits.apply(call("create_file", path="pkg/new.py", content="X = 1"))
    with pytest.raises(EditError, match="already exists"):
        edits.apply(call("create_file", path="shapes.py", content=""))
    edit = edits.workspace_edit("utf-16", "Hermes", annotate=False)
    create, text_edit = edit.document_changes
    assert isinstance(create, types.CreateFile) and create.uri.endswith("/pkg/new.py")
    assert text_edit.edits[0].new_text == "X = 1\n"


@pytest.mark.parametrize("path", ["../outside.py", "/etc/passwd", "secrets/keys.py", ".git/config"])
def test_paths_outside_the_workspace_or_ignored_are_refused(workspace, path):
    with pytest.raises(EditError, match="outside the workspace|ignore rules"):
        edit_set(workspace).apply(call("search_replace", path=path, search="a", replace="b"))


def test_symlink_escaping_the_workspace_is_refused(workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "x.py").write_text("a = 1\n")
    os.symlink(outside, workspace / "link")
    with pytest.raises(EditError, match="outside the workspace"):
        edit_set(workspace).apply(call("search_replace", path="link/x.py", search="a", replace="b"))


def test_edit_that_breaks_the_syntax_is_detected(workspace):
    edits = edit_set(workspace)
    edits.apply(
        call("search_replace", path="shapes.py", search="def total(shapes):", replace="def total(shapes:")
    )
    problems = edits.syntax_problems()
    assert len(problems) == 1 and problems[0].startswith("shapes.py would have a syntax error at line")


def test_an_edit_nesting_brackets_thousands_deep_is_checked_not_crashed_on(workspace):
    edits = edit_set(workspace)
    runaway = "    result = " + "(" * 3000 + "0" + ")" * 2999  # one bracket left open
    edits.apply(call("search_replace", path="shapes.py", search="    result = 0", replace=runaway))
    (problem,) = edits.syntax_problems()
    assert problem.startswith("shapes.py would have a syntax error at line")


def test_unknown_tool_and_bad_arguments(workspace):
    edits = edit_set(workspace)
    with pytest.raises(EditError, match="unknown edit tool 'delete_file'"):
        edits.apply(call("delete_file", path="shapes.py"))
    with pytest.raises(EditError, match="bad arguments for search_replace"):
        edits.apply(call("search_replace", path="shapes.py", find="x"))


def test_workspace_edit_is_minimal_versioned_and_in_utf16(workspace):
    uri = from_path(str(workspace / "shapes.py"))
    text = SHAPES.replace('"""Shapes."""', '"""Shapes 😀."""')
    edits = edit_set(workspace, {uri: OpenText(uri, text, 7)})
    edits.apply(call("search_replace", path="shapes.py", search="import math", replace="import cmath"))
    edit = edits.workspace_edit("utf-16", "Hermes: fix", annotate=True)
    (document_edit,) = edit.document_changes
    assert document_edit.text_document.version == 7
    (change,) = document_edit.edits
    assert change.range == types.Range(types.Position(1, 7), types.Position(1, 7))
    assert change.new_text == "c" and change.annotation_id == "hermes"
    assert edit.change_annotations["hermes"].label == "Hermes: fix"


def test_stale_document_is_detected(workspace):
    uri = from_path(str(workspace / "shapes.py"))
    docs = {uri: OpenText(uri, SHAPES, 3)}
    edits = edit_set(workspace, docs)
    edits.apply(call("search_replace", path="shapes.py", search="import math", replace="import cmath"))
    assert edits.stale() == []
    docs[uri] = OpenText(uri, SHAPES + "# typed meanwhile\n", 4)
    assert edits.stale() == ["shapes.py"]


def test_non_utf8_file_is_refused(workspace):
    (workspace / "latin.py").write_bytes(b"name = '\xe9t\xe9'\n")
    with pytest.raises(EditError, match="not UTF-8"):
        edit_set(workspace).apply(call("search_replace", path="latin.py", search="name", replace="nom"))


@pytest.mark.parametrize(("encoding", "character"), [("utf-16", 12), ("utf-8", 14), ("utf-32", 11)])
def test_positions_after_an_emoji_follow_the_negotiated_encoding(workspace, encoding, character):
    uri = from_path(str(workspace / "shapes.py"))
    text = SHAPES.replace('"""Shapes."""', '"""Shapes 😀."""')
    edits = edit_set(workspace, {uri: OpenText(uri, text, 2)})
    edits.apply(call("search_replace", path="shapes.py", search='😀."""', replace='😀 and areas."""'))
    (document_edit,) = edits.workspace_edit(encoding, "Hermes", annotate=False).document_changes
    (change,) = document_edit.edits
    # '"""Shapes 😀' is 10 characters and the emoji: 2 UTF-16 units, 4 UTF-8 bytes, 1 code point.
    assert change.range.start == types.Position(0, character) and change.new_text == " and areas"


def test_editor_without_document_changes_gets_a_plain_changes_map(workspace):
    edits = edit_set(workspace)
    edits.apply(call("search_replace", path="shapes.py", search="result = 0", replace="result = 0.0"))
    edit = edits.workspace_edit("utf-16", "Hermes", annotate=True, document_changes=False)
    assert edit.document_changes is None and edit.change_annotations is None
    ((uri, (change,)),) = edit.changes.items()
    assert uri.endswith("/shapes.py") and change.new_text == ".0"
    assert change.range.start == types.Position(14, 14)


def test_create_file_is_refused_when_the_editor_cannot_create_files(workspace):
    edits = EditSet(str(workspace), lambda uri: None, can_create=False)
    with pytest.raises(EditError, match="cannot create files"):
        edits.apply(call("create_file", path="pkg/new.py", content="X = 1"))
    assert edits.changed() == [] and not (workspace / "pkg").exists()


def test_the_settings_exclude_patterns_are_refused_too(workspace):
    (workspace / "generated").mkdir()
    (workspace / "generated" / "api.py").write_text("X = 1\n")
    edit = call("search_replace", path="generated/api.py", search="X = 1", replace="X = 2")
    with pytest.raises(EditError, match="ignore rules"):
        EditSet(str(workspace), lambda uri: None, exclude=["generated/"]).apply(edit)
    assert edit_set(workspace).apply(edit) == "edited generated/api.py"  # without the pattern


def test_incremental_reparse_matches_a_full_parse():
    import random

    import tree_sitter_python

    from hermes_lsp.context.syntax import Syntax

    syntax = Syntax()

    full_parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))
    source = SHAPES.replace('"""Shapes."""', '"""Shapes — ünïcode 😀."""') * 3
    rng = random.Random(7)
    pieces = ["x", "😀", "\n", "    ", "def f(:\n", "é", ")", '"']
    for _ in range(200):
        start = rng.randrange(len(source) + 1)
        end = min(len(source), start + rng.randrange(12))
        new = source[:start] + rng.choice(pieces) * rng.randrange(3) + source[end:]
        expected = full_parser.parse(new.encode("utf-8")).root_node
        got = syntax.reparse("python", source, new).root_node
        assert str(got) == str(expected) and got.has_error == expected.has_error
        assert str(syntax.tree("python", source).root_node) == str(
            full_parser.parse(source.encode()).root_node
        )


SERVICE_TS = """export class UserService {
  constructor(private readonly db: Db) {}

  find(id: string): User | undefined {
    return this.db.get(id);
  }
}
"""

MAIN_GO = """package main

func divide(a, b int) int {
\treturn a / b
}

func main() {
\tprintln(divide(4, 2))
}
"""


def test_edits_in_typescript_and_go_by_name(tmp_path):
    (tmp_path / "service.ts").write_text(SERVICE_TS)
    (tmp_path / "main.go").write_text(MAIN_GO)
    edits = edit_set(tmp_path)
    edits.apply(
        call(
            "replace_symbol",
            path="service.ts",
            symbol="UserService.find",
            code="find(id: string): User {\n  const user = this.db.get(id);\n"
            "  if (!user) throw new Error(id);\n  return user;\n}",
        )
    )
    edits.apply(
        call(
            "insert_code",
            path="main.go",
            anchor="divide",
            where="before",
            code="// divide panics when b is zero.",
        )
    )
    assert edits.syntax_problems() == []
    by_file = {state.rel: state.text for state in edits.changed()}
    # The method keeps the class's indentation; Go keeps its tabs.
    assert "  find(id: string): User {\n    const user = this.db.get(id);\n" in by_file["service.ts"]
    go = by_file["main.go"]
    assert "\n// divide panics when b is zero.\n\nfunc divide(a, b int) int {\n\treturn a / b\n" in go


def test_a_broken_typescript_edit_is_caught(tmp_path):
    (tmp_path / "service.ts").write_text(SERVICE_TS)
    edits = edit_set(tmp_path)
    edits.apply(call("search_replace", path="service.ts", search="return this.db.get(", replace="return {("))
    (problem,) = edits.syntax_problems()
    assert problem.startswith("service.ts would have a syntax error")


def test_a_closed_file_changed_on_disk_meanwhile_is_stale(workspace):
    edits = edit_set(workspace)
    edits.apply(call("search_replace", path="shapes.py", search="import math", replace="import cmath"))
    edits.apply(call("create_file", path="notes.py", content="X = 1"))
    assert edits.stale() == []
    (workspace / "shapes.py").write_text(SHAPES + "# saved by another tool\n")
    (workspace / "notes.py").write_text("Y = 2\n")
    assert sorted(edits.stale()) == ["notes.py", "shapes.py"]
