"""The walk and its ignore files under hostile conditions: links out of the workspace,
ignore files that are FIFOs, devices or huge. Unit checks first, then the real server."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_lsp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pytest_lsp import LanguageClient

from hermes_lsp.context import walk
from hermes_lsp.context.index import Index
from hermes_lsp.context.store import Store
from hermes_lsp.context.walk import (
    MAX_IGNORE_FILE_BYTES,
    Containment,
    contained,
    read_ignore_lines,
    scan_file,
)
from hermes_lsp.scripted_server import Reply, ScriptedServer
from tests.support.lsp import initialize, inline, open_document, server_config, until


@pytest.fixture
def linked(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("def secret():\n    return 1\n")
    root = tmp_path / "ws"
    root.mkdir()
    (root / "real.py").write_text("def real():\n    return 2\n")
    (root / "alias.py").symlink_to(root / "real.py")
    (root / "leak.py").symlink_to(outside / "secret.py")
    (root / "door").symlink_to(outside, target_is_directory=True)
    return root


def test_links_out_of_the_workspace_are_not_walked_and_links_inside_are(linked: Path):
    found = walk.walk(str(linked))
    assert found.files == ["alias.py", "real.py"]
    assert found.outside_links == 1 and found.symlinked_dirs == 1


def test_scanning_a_path_through_a_link_out_of_the_workspace_reads_nothing(linked: Path):
    for rel in ("leak.py", "door/secret.py"):
        scanned = scan_file(str(linked), rel, 1 << 20)
        assert scanned.skipped == "outside" and scanned.tags is None
    assert scan_file(str(linked), "alias.py", 1 << 20).tags is not None


def test_a_file_swapped_for_a_link_out_after_its_check_is_not_read(
    linked: Path, monkeypatch: pytest.MonkeyPatch
):
    """The check and the open are two steps: a file replaced by a link to a secret between
    them is refused when opened, not followed."""
    (linked / "real.py").unlink()
    (linked / "real.py").symlink_to(linked.parent / "outside" / "secret.py")
    monkeypatch.setattr(Containment, "inside", lambda self, full: True)  # said before the swap
    scanned = scan_file(str(linked), "real.py", 1 << 20)
    assert scanned.skipped == "outside" and scanned.tags is None
    # A link that still resolves inside is followed, as the walk allows.
    (linked / "inner.py").write_text("def inner():\n    pass\n")
    (linked / "alias.py").unlink()
    (linked / "alias.py").symlink_to(linked / "inner.py")
    assert [d.name for d in scan_file(str(linked), "alias.py", 1 << 20).tags.definitions] == ["inner"]


def test_a_fifo_among_the_files_never_blocks_the_scan(tmp_path: Path):
    """A named pipe with no writer would block a plain open() for ever."""
    root = tmp_path / "ws"
    root.mkdir()
    os.mkfifo(root / "pipe.py")
    scanned = scan_file(str(root), "pipe.py", 1 << 20)
    assert scanned.skipped == "unreadable" and scanned.tags is None


def test_contained_resolves_links_on_both_sides(linked: Path, tmp_path: Path):
    assert contained(str(linked), "alias.py") == "real.py"
    assert contained(str(linked), "leak.py") is None
    assert contained(str(linked), str(linked)) == "."
    assert contained(str(linked), "../outside/secret.py") is None
    assert contained(str(linked), "real\0.py") is None
    via = tmp_path / "via"
    via.symlink_to(linked, target_is_directory=True)  # the root itself reached through a link
    assert contained(str(via), str(linked / "real.py")) == "real.py"


_PARTS = ("real.py", "alias.py", "leak.py", "door", "secret.py", "sub", "inner.py", "up", "..", ".", "ws")


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(_PARTS), min_size=1, max_size=5), absolute=st.booleans())
def test_a_scan_checks_each_file_as_resolving_every_component_would(
    linked: Path, parts: list[str], absolute: bool
):
    # A folder inside, a link from it back up to the root's parent, a link to a folder inside.
    sub = linked / "sub"
    if not sub.exists():
        sub.mkdir()
        (sub / "inner.py").write_text("x = 1\n")
        (sub / "up").symlink_to(linked.parent, target_is_directory=True)
        (linked / "inside").symlink_to(sub, target_is_directory=True)
    path = os.path.join(*parts)
    if absolute:
        path = os.path.join(str(linked), path)
    checker = Containment(str(linked))
    assert checker.inside(path) == (contained(str(linked), path) is not None)
    assert checker.inside(path) == (contained(str(linked), path) is not None)  # folder now remembered


def _hostile_ignore_files(root: Path) -> None:
    os.mkfifo(root / ".hermesignore")  # opening it for reading would block forever
    (root / "dev").mkdir()
    (root / "dev" / ".gitignore").symlink_to("/dev/zero")  # endless
    (root / "huge").mkdir()
    (root / "huge" / ".hermesignore").write_text("#\n" * (MAX_IGNORE_FILE_BYTES // 2 + 10))


def test_hostile_ignore_files_are_skipped_with_a_log_line(tmp_path: Path, caplog):
    _hostile_ignore_files(tmp_path)
    (tmp_path / "dev" / "a.py").write_text("x = 1\n")
    (tmp_path / "huge" / "b.py").write_text("y = 2\n")
    with caplog.at_level(logging.WARNING, logger="hermes_lsp.context.walk"):
        assert read_ignore_lines(str(tmp_path / ".hermesignore")) == []
        found = walk.walk(str(tmp_path))
    assert found.files == ["dev/a.py", "huge/b.py"]
    said = "\n".join(caplog.messages)
    assert "not a regular file" in said and "larger than 1024 KB" in said
    assert str(tmp_path / ".hermesignore") in said


# -- the same, in the running server ---------------------------------------------------------

PRICING = "def apply_discount(price, percent):\n    return price * (1 - percent / 100)\n"
CART = "from pricing import apply_discount\n\n\ndef checkout(total):\n    return \n"


@pytest_lsp.fixture(scope="module", config=server_config())
async def client(lsp_client: LanguageClient, scripted_session: ScriptedServer, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    _hostile_ignore_files(root)
    (root / "pricing.py").write_text(PRICING)
    (root / "cart.py").write_text(CART)
    options = {"endpoint": scripted_session.url, "completion": {"debounceMs": 0}}
    await initialize(lsp_client, options, root.as_uri())
    lsp_client.root = root  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_the_index_is_built_despite_hostile_ignore_files(client: LanguageClient, scripted):
    ended = lambda: any(  # noqa: E731
        isinstance(report, types.WorkDoneProgressEnd)
        for reports in client.progress_reports.values()
        for report in reports
    )
    assert await until(ended, timeout=60)
    assert not [m for m in client.messages if "indexing" in m.message and "failed" in m.message]
    root: Path = client.root  # type: ignore[attr-defined]
    uri = (root / "cart.py").as_uri()
    open_document(client, uri, CART)
    scripted.script(Reply(text="apply_discount(total, 10)"))
    await inline(client, uri, 4, 11)
    (request,) = scripted.model_requests()
    assert "def apply_discount(price, percent):" in request.prompt  # from the index


def test_a_file_whose_name_is_not_utf8_is_left_out_and_the_rest_is_indexed(tmp_path: Path):
    root = tmp_path / "ws"
    (root / b"caf\xe9".decode("utf-8", "surrogateescape")).mkdir(parents=True)
    (root / "good.py").write_text("def good():\n    pass\n")
    with open(os.path.join(os.fsencode(root), b"bad\xff.py"), "w") as fh:
        fh.write("def bad():\n    pass\n")
    with open(os.path.join(os.fsencode(root), b"caf\xe9", b"inner.py"), "w") as fh:
        fh.write("def inner():\n    pass\n")
    found = walk.walk(str(root))
    assert found.files == ["good.py"] and found.undecodable == 2
    index = Index(str(root), Store(None), 1 << 20)
    report = index.refresh()
    assert [d.name for d in index.by_name["good"]] == ["good"]
    assert report.skipped == {"name not UTF-8": 2}
    bad = os.fsdecode(b"bad\xff.py")
    index.update_file(bad)  # saved in an editor: still left out, nothing raised
    assert index.by_path.get(bad) is None


DEPTH = 1200
"""Folders nested deeper than Python's recursion limit (1,000)."""


@pytest.fixture
def deep_tree(tmp_path: Path) -> Iterator[Path]:
    """A tree ``DEPTH`` folders deep, made and removed one level at a time (``os.makedirs``
    and ``shutil.rmtree``, pytest's clean-up included, recurse per folder)."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "top.py").write_text("def top():\n    pass\n")
    chain = [os.open(root, os.O_RDONLY)]
    try:
        for _ in range(DEPTH):
            os.mkdir("a", dir_fd=chain[-1])
            chain.append(os.open("a", os.O_RDONLY, dir_fd=chain[-1]))
        os.close(os.open("x.py", os.O_WRONLY | os.O_CREAT, dir_fd=chain[-1]))
        yield root
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink("x.py", dir_fd=chain[-1])
        while len(chain) > 1:
            os.close(chain.pop())
            os.rmdir("a", dir_fd=chain[-1])
        os.close(chain[0])


def test_a_tree_nested_deeper_than_the_recursion_limit_is_walked(deep_tree: Path):
    found = walk.walk(str(deep_tree))
    assert found.files == ["/".join(["a"] * DEPTH + ["x.py"]), "top.py"]
    index = Index(str(deep_tree), Store(None), 1 << 20)
    index.refresh()
    assert [d.name for d in index.by_name["top"]] == ["top"]
