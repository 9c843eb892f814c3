"""Language families and the links that let code of another language into the context."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hermes_lsp.context.languages import BINDING_FAMILIES, LANGUAGES, family_of, may_use, same_family
from hermes_lsp.context.modules import import_tokens
from hermes_lsp.context.retrieve import Links, string_literals

EXTENSIONS = sorted(ext for spec in LANGUAGES for ext in spec.extensions)
paths = st.builds(
    lambda folder, stem, ext: f"{folder}{stem}{ext}",
    st.sampled_from(["", "src/", "editors/nvim/lua/"]),
    st.sampled_from(["client", "step", "util", "index"]),
    st.sampled_from(EXTENSIONS),
)
names = st.sampled_from(["client", "step", "M", "run", "foo_init"])


def test_families() -> None:
    assert family_of("a.ts") == family_of("b.tsx") == family_of("c.mjs") == "ecmascript"
    assert family_of("a.c") == family_of("a.h") == family_of("a.cpp") == "c"
    assert family_of("a.py") == family_of("a.pyi") == "python"
    assert family_of("README.md") is None
    assert same_family("app/main.py", "lib/util.pyi") and not same_family("app/main.py", "init.lua")
    assert same_family("notes.txt", "init.lua")  # plain text is told apart from nothing


@given(paths, paths)
def test_same_family_is_symmetric_and_reflexive(one: str, other: str) -> None:
    assert same_family(one, one)
    assert same_family(one, other) == same_family(other, one)


@given(paths, paths, names, st.text(max_size=80))
def test_same_family_is_always_allowed_and_other_families_never_by_name_alone(
    current: str, path: str, name: str, imports: str
) -> None:
    # The literals near the cursor name neither the file nor (for bindings) the definition.
    links = Links(current, import_tokens(imports), frozenset({"utf-8", "a b"}))
    if same_family(current, path):
        assert links.allows(path, name)
    elif family_of(path) not in BINDING_FAMILIES:
        assert not links.allows(path, name)


def test_a_script_named_by_its_file_is_linked() -> None:
    near = 'subprocess.run(["bash", "./install.sh", "--test"])\nlog = get("client")\n'
    links = Links("app/setup.py", frozenset(), string_literals(near))
    assert links.allows("install.sh", "step")
    # "client" is only a word here: a Lua module of that name stays out.
    assert not links.allows("editors/nvim/lua/hermes/client.lua", "client")


def test_native_code_is_linked_by_import_or_by_symbol_name() -> None:
    imports = import_tokens("import _speedups\nfrom ctypes import CDLL")
    near = 'lib = CDLL("libfast.so")\ninit = lib["fast_init"]\n'
    links = Links("pkg/fast.py", imports, string_literals(near))
    assert links.allows("src/_speedups.c", "anything")  # the extension module the import names
    assert links.allows("native/fast.c", "fast_init")  # the symbol looked up by name
    assert not links.allows("native/fast.c", "fast_free")
    assert not links.allows("web/fast_init.js", "fast_init")  # JavaScript is not bound to by name


def test_code_may_use_its_own_family_and_native_code_by_name() -> None:
    assert may_use("app/main.py", "app/util.pyi") and may_use("web/app.tsx", "web/util.js")
    assert may_use("app/main.py", "native/fast.c") and may_use("web/app.js", "crates/core/src/lib.rs")
    assert not may_use("app/main.py", "editors/nvim/lua/client.lua") and not may_use(
        "app/main.py", "install.sh"
    )
    assert not may_use("native/fast.c", "app/main.py")  # C does not call Python by name
