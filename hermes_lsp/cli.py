"""The ``hermes-lsp`` command: the language server itself, and its subcommands.

With no subcommand it runs the server (stdio by default). Each subcommand lives in its
own module, imported only when used, so that starting the server stays fast; a module
provides ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from pathlib import Path

from hermes_lsp import __version__
from hermes_lsp.log_redaction import RedactingFilter, remember_secret

# name -> (module, one-line help). The module is imported only when the command runs.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "complete": ("hermes_lsp.commands.complete", "run one inline completion against the model server"),
    "doctor": ("hermes_lsp.commands.doctor", "check settings, grammars, index cache and the model server"),
    "bench": ("hermes_lsp.bench", "print the project's own performance figures"),
    "index": ("hermes_lsp.commands.index", "build or refresh the workspace index and print its figures"),
    "context": ("hermes_lsp.commands.context", "print the repository context for a cursor (PATH:LINE:COL)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hermes-lsp",
        description="A language server for a self-hosted Hermes 4 model. "
        "Without a subcommand it serves LSP on stdio.",
    )
    parser.add_argument("--version", action="version", version=f"hermes-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="serve LSP on stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve LSP on a TCP socket instead")
    parser.add_argument("--log-file", metavar="FILE", help="write logs to FILE (stderr otherwise)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module)
        # Arguments are added lazily in main(); keep --help cheap for the common case.
    return parser


def _setup_logging(log_file: str | None, verbose: bool, quiet: bool = False) -> logging.Handler:
    """Log to ``log_file`` or stderr: debug with ``-v``, warnings only when ``quiet``."""
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if log_file:
        try:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_file)
        except OSError as exc:
            # A log that cannot be written is no reason not to serve: say so, log to stderr.
            print(f"hermes-lsp: cannot write {log_file} ({exc}); logging to stderr", file=sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # Keys reach the logs from many sources (whole LSP messages at debug, headers,
    # exception texts): every line is scrubbed on its way out.
    remember_secret(os.environ.get("HERMES_LSP_API_KEY"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    # pygls logs every message (document text included) and httpx every URL at INFO:
    # noise, and code in the logs, unless debugging.
    for noisy in ("pygls", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler


def _log_to_client(server: object, stderr: logging.Handler) -> None:
    """Serving on stdio without a log file: logs go to the editor as window/logMessage."""
    from hermes_lsp.lsp_log import LspLogHandler

    root = logging.getLogger()
    handler = LspLogHandler(server, fallback=stderr)
    # The editor stamps the time itself.
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())  # the editor's log is a log like any other
    root.removeHandler(stderr)
    root.addHandler(handler)


def _parse_hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"hermes-lsp: --tcp expects HOST:PORT, got {value!r}")
    return host, int(port)


def _find_command(argv: list[str]) -> str | None:
    """The first positional argument, skipping the values of global options."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in ("--tcp", "--log-file"):
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _run_subcommand(args: argparse.Namespace) -> int:
    try:
        code = int(importlib.import_module(args._module).run(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`hermes-lsp context … | head`): stop quietly, as cat does.
        # Point stdout at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a writer killed by the pipe
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Find the subcommand (if any) before parsing, so only its module is imported.
    command = _find_command(argv)
    if command in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[command][0])
        sub_actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        module.add_arguments(sub_actions[0].choices[command])
    args = parser.parse_args(argv)
    # A subcommand prints its own report: its INFO lines would only clutter the terminal.
    handler = _setup_logging(args.log_file, args.verbose, quiet=bool(args.command))
    if args.command:
        return _run_subcommand(args)

    from hermes_lsp.server import create_server

    server = create_server()
    if not args.log_file:
        _log_to_client(server, handler)
    # Everything alive now (modules, the protocol's converters, grammars) lives as long as
    # the server: keep it out of the collector's full passes, which would otherwise walk
    # it all and stall the event loop for tens of milliseconds now and then.
    gc.collect()
    gc.freeze()
    if args.tcp:
        from hermes_lsp.tcp import serve_tcp

        host, port = _parse_hostport(args.tcp)
        return serve_tcp(server, host, port)
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
