"""Indentation: measuring it, and moving code from the frame it was written in to a file's.

Models write code at whatever indentation suits them (flush left, one level too deep,
spaces in a file indented with tabs). Both the ghost text and the edit tools move it into
the file's frame with the same rule: relative levels are counted in the code's own step
and written in the file's unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Columns a tab stands for when indentation written with tabs meets indentation with spaces.
TAB_WIDTH = 4


def leading(line: str) -> str:
    """A line's indentation."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def width(indent: str) -> int:
    """Columns of an indentation."""
    return len(indent.expandtabs(TAB_WIDTH))


def unit_of(lines: Iterable[str]) -> str:
    """One level of indentation in these lines: a tab, or their smallest step of spaces."""
    steps = set()
    for line in lines:
        if line.startswith("\t"):
            return "\t"
        if line.startswith(" ") and line.strip():
            steps.add(len(leading(line)))
    return " " * min(steps, default=4)


def _render(columns: int, unit: str) -> str:
    return "\t" * (columns // TAB_WIDTH) + " " * (columns % TAB_WIDTH) if unit == "\t" else " " * columns


def step_of(lines: Iterable[str], default: int) -> int:
    """The smallest indentation step these lines show, in columns."""
    return min((width(leading(line)) for line in lines if line.strip() and leading(line)), default=default)


def reindent(lines: Sequence[str], base: str, indent: str, unit: str, step: int | None = None) -> list[str]:
    """``lines`` moved from ``base`` (their frame's indentation) to ``indent``.

    Between the same kind of indentation (spaces and spaces, tabs and tabs) every line
    keeps its offset from ``base``. From one kind to the other (a model writing spaces
    into a file indented with tabs) a line's depth is counted in levels of the code's own
    ``step`` (by default the smallest one it shows) and written in ``unit``, the file's.
    Blank lines are kept as they are.
    """
    code_tabs = "\t" in base or any("\t" in leading(line) for line in lines if line.strip())
    convert = code_tabs != (unit == "\t")
    if step is None:
        depths = [width(leading(line)) - width(base) for line in lines if line.strip()]
        step = TAB_WIDTH if code_tabs else min((abs(d) for d in depths if d), default=width(unit))
    out = []
    for line in lines:
        if not line.strip():
            out.append(line)
            continue
        depth = width(leading(line)) - width(base)
        if convert:
            levels, rest = divmod(depth, step)
            depth = levels * width(unit) + rest
        columns = max(0, width(indent) + depth)
        out.append((indent if columns == width(indent) else _render(columns, unit)) + line.lstrip(" \t"))
    return out
