"""``hermes-lsp index [ROOT] [--json]``: build or refresh a workspace's on-disk index.

The first run scans every file (in worker processes, or in this one on a single
processor, where workers would only add their start-up); later runs only re-scan what
changed. It prints what the index holds and how long the refresh took.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import attrs

from hermes_lsp.config import IndexSettings
from hermes_lsp.context.engine import WorkspaceContext
from hermes_lsp.context.index import available_cpus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", nargs="?", default=".", metavar="ROOT", help="workspace folder (default: .)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes for scanning; 0: scan in this process"
        " (default: one per available processor, up to 4; 0 on a single processor)",
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="extra gitignore-style pattern"
    )
    parser.add_argument(
        "--max-file-kb", type=int, default=IndexSettings().max_file_kb, help="skip larger files"
    )


def default_workers(asked: int | None) -> int | None:
    """What ``--workers`` means when it is not given: on one processor this process scans
    (nothing else wants it: no event loop here), elsewhere the index's own default."""
    if asked is not None:
        return asked
    return 0 if available_cpus() == 1 else None


def run(args: argparse.Namespace) -> int:
    if not os.path.isdir(args.root):
        print(f"hermes-lsp: {args.root} is not a folder", file=sys.stderr)
        return 2
    problems: list[str] = []
    engine = WorkspaceContext(
        IndexSettings(max_file_kb=args.max_file_kb, exclude=list(args.exclude)),
        workers=default_workers(args.workers),
        lookups_while_building=False,
        on_problem=problems.append,
    )
    interactive = sys.stderr.isatty() and not args.json

    def progress(message: str | None, percent: int | None) -> None:
        if interactive:
            sys.stderr.write(f"\r{message or ''}\033[K")

    try:
        report = engine.start_sync(args.root, progress)
    finally:
        engine.close()
    if interactive:
        sys.stderr.write("\r\033[K")
    for problem in problems:
        print(f"hermes-lsp: {problem}", file=sys.stderr)
    if report is None:
        return 1
    if args.json:
        print(json.dumps(attrs.asdict(report), sort_keys=True))
        return 0
    skipped = ", ".join(f"{count} {why}" for why, count in sorted(report.skipped.items())) or "none"
    print(f"root         {report.root}")
    print(f"files        {report.files:,} ({report.indexed:,} scanned now, {report.removed:,} removed)")
    print(f"definitions  {report.definitions:,}")
    print(f"skipped      {skipped}")
    print(f"cache        {report.cache or 'in memory'}")
    print(f"time         {report.seconds:.2f} s")
    return 0
