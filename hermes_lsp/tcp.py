"""Serving LSP on a TCP socket: one client per server, and a loud warning off loopback.

A language server holds one editor's documents and answers on one connection; a second
client that connected to pygls's own TCP server would silently take over the first one's
replies. Here the first connection is the session: any other connection made while it is
open is closed at once (with a log line), and the server ends when the session does, as it
does on stdio. The protocol has no authentication, so listening on anything but a loopback
address lets anyone who can reach the port read and edit the workspace: that is said on
standard error and in the log before the server listens.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import sys
import threading
from typing import TYPE_CHECKING

from hermes_lsp.framing import READ_SIZE

if TYPE_CHECKING:
    from hermes_lsp.server import HermesLanguageServer

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: binding will fail and say so
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def warn_if_exposed(host: str, port: int) -> bool:
    """Warn (standard error and log) when ``host`` is reachable from other machines."""
    if is_loopback(host):
        return False
    message = (
        f"WARNING: listening on {host}:{port}, which other machines can reach. The language "
        "server protocol has no authentication: anyone who connects can read your code and "
        "send edits. Use --stdio, or --tcp 127.0.0.1:PORT behind an SSH tunnel."
    )
    print(f"hermes-lsp: {message}", file=sys.stderr, flush=True)
    log.warning("%s", message)
    return True


def serve_tcp(server: HermesLanguageServer, host: str, port: int) -> int:
    """Serve one client on ``host:port`` until it disconnects or sends ``exit``."""
    warn_if_exposed(host, port)
    stop_event = threading.Event()
    server._stop_event = stop_event

    async def main() -> None:
        session_over = asyncio.Event()
        active: list[asyncio.StreamWriter] = []

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            peer = writer.get_extra_info("peername")
            if active or session_over.is_set():
                log.warning("refused a connection from %s: this server already has a client", peer)
                writer.close()
                return
            active.append(writer)
            log.info("client connected from %s", peer)
            server.protocol.set_writer(writer)  # type: ignore[arg-type]
            try:
                await server.serve_stream(lambda: reader.read(READ_SIZE))
            finally:
                log.info("client %s disconnected; stopping", peer)
                session_over.set()

        try:
            listener = await asyncio.start_server(connection, host, port)
        except OSError as exc:
            raise SystemExit(f"hermes-lsp: cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        server._server = listener
        log.info("serving LSP on %s", ", ".join(str(s.getsockname()) for s in listener.sockets))
        async with listener:
            await session_over.wait()

    try:
        asyncio.run(main())
    except SystemExit as exc:  # the client's ``exit`` (0 after ``shutdown``), or no port
        if isinstance(exc.code, str):
            raise  # could not listen: the message is for the user
        return exc.code or 0
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0
