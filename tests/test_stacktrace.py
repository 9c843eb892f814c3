"""Stack traces from five languages, located in a workspace."""

from __future__ import annotations

from hermes_lsp.features.stacktrace import Frame, locate, parse_trace

PYTHON = """Traceback (most recent call last):
  File "/home/ci/app/main.py", line 12, in <module>
    run()
  File "/home/ci/app/pkg/calc.py", line 4, in divide
    return a / b
ZeroDivisionError: division by zero
"""

NODE = """TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/srv/app/src/users.ts:14:22)
    at file:///srv/app/src/index.js:3:1
    at Module._compile (node:internal/modules/cjs/loader:1364:14)
"""

GO = """panic: runtime error: integer divide by zero

goroutine 1 [running]:
main.divide(...)
\t/build/app/calc.go:8
main.main()
\t/build/app/main.go:12 +0x1d
"""

RUST = """thread 'main' panicked at src/main.rs:5:13:
attempt to divide by zero
stack backtrace:
   0: app::divide
             at ./src/lib.rs:10:5
"""

JAVA = """Exception in thread "main" java.lang.ArithmeticException: / by zero
\tat com.example.Calc.divide(Calc.java:7)
\tat com.example.Main.main(Main.java:3)
"""


def test_python_frames():
    assert parse_trace(PYTHON) == [
        Frame("/home/ci/app/main.py", 12, "<module>"),
        Frame("/home/ci/app/pkg/calc.py", 4, "divide"),
    ]


def test_node_frames_skip_node_internals():
    assert parse_trace(NODE) == [
        Frame("/srv/app/src/users.ts", 14, "getUser"),
        Frame("/srv/app/src/index.js", 3, ""),
    ]


def test_go_frames_carry_their_function():
    assert parse_trace(GO) == [
        Frame("/build/app/calc.go", 8, "main.divide"),
        Frame("/build/app/main.go", 12, "main.main"),
    ]


def test_rust_frames():
    assert parse_trace(RUST) == [Frame("src/main.rs", 5), Frame("./src/lib.rs", 10)]


def test_java_frames_become_package_paths():
    assert parse_trace(JAVA) == [
        Frame("com/example/Calc.java", 7, "com.example.Calc.divide"),
        Frame("com/example/Main.java", 3, "com.example.Main.main"),
    ]


def test_frames_are_located_by_path_tail(tmp_path):
    for rel in (
        "pkg/calc.py",
        "main.py",
        "src/main/java/com/example/Calc.java",
        "lib/a/util.py",
        "lib/b/util.py",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    files = [
        "lib/a/util.py",
        "lib/b/util.py",
        "main.py",
        "pkg/calc.py",
        "src/main/java/com/example/Calc.java",
    ]
    frames = (
        parse_trace(PYTHON) + parse_trace(JAVA) + [Frame("/elsewhere/util.py", 1), Frame("/usr/lib/os.py", 9)]
    )
    located = locate(frames, str(tmp_path), files)
    assert [(f.rel, f.line) for f in located] == [
        ("main.py", 12),
        ("pkg/calc.py", 4),
        ("src/main/java/com/example/Calc.java", 7),
    ]  # util.py is ambiguous and os.py is not in the workspace: left out rather than guessed


def test_an_ambiguous_tail_goes_to_the_file_the_user_is_looking_at(tmp_path):
    files = ["lib/a/util.py", "lib/b/util.py"]
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x = 1\n")
    frame = Frame("/elsewhere/util.py", 1)
    assert locate([frame], str(tmp_path), files) == []
    (found,) = locate([frame], str(tmp_path), files, prefer="lib/b/util.py")
    assert found.rel == "lib/b/util.py"
