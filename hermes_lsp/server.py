"""The language server: capabilities, settings life cycle and thin LSP handlers.

Handlers translate LSP types to plain values and call the feature modules; the logic
lives in ``features/``, ``model/`` and ``context/``. Feature modules that add their own
LSP methods (code actions, commands) do so from a ``register(server)`` function called
by :func:`create_server`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcServerNotInitialized,
)
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from hermes_lsp import __version__, loopwatch
from hermes_lsp.config import Settings, env_problems, merge_settings
from hermes_lsp.context.engine import WorkspaceContext
from hermes_lsp.context.types import ContextEngine, NullContext
from hermes_lsp.features.completion import NOTHING_ASKED, CompletionService, Cursor
from hermes_lsp.framing import Fault, FrameReader, ReadSome, stream_reader
from hermes_lsp.log_redaction import remember_secret
from hermes_lsp.messages import MessageGate, with_prefix
from hermes_lsp.model.client import Job, ModelClient, ModelConfig, ModelError, ModelUnreachable
from hermes_lsp.progress import ProgressReporter
from hermes_lsp.status import StatusBoard
from hermes_lsp.text import InvalidChange, LineMark, apply_changes, code_units, line_at, offset_at
from hermes_lsp.uris import document_key, relative, to_path

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "hermes/status"
COMMAND_WHY_NO_SUGGESTION = "hermes.whyNoSuggestion"
LOG_LEVELS = {
    types.MessageType.Error: logging.ERROR,
    types.MessageType.Warning: logging.WARNING,
    types.MessageType.Info: logging.INFO,
    types.MessageType.Log: logging.DEBUG,
}
_WORD_END = re.compile(r"\w*$")


class _Unreadable:
    """Stands in for a message that could not be read; it has been answered already."""

    jsonrpc = None


def _valid_id(value: Any) -> bool:
    """Whether a JSON-RPC request id can be answered (a string or an integer)."""
    return isinstance(value, str | int) and not isinstance(value, bool)


class HermesProtocol(LanguageServerProtocol):
    """pygls's protocol, answering every request and keeping to the LSP life cycle.

    pygls drops a request whose fields do not fit its type (an unknown method without
    ``params``, say) without replying, and the client then waits forever; it also drops
    every request after ``shutdown`` unanswered. Here a request before ``initialize`` gets
    ``ServerNotInitialized`` and one after ``shutdown`` gets ``InvalidRequest``, as the
    specification says, and a failing notification handler is reported as the internal
    error it is.
    """

    def __init__(self, server: Any, converter: Any) -> None:
        super().__init__(server, converter)
        self.initialize_seen = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            request_id, method = data.get("id"), data.get("method")
            if not _valid_id(request_id) or method is None:
                raise
            known = isinstance(method, str) and self.get_message_type(method) is not None
            error = exc if known else JsonRpcMethodNotFound(f"Unknown method: {str(method)[:100]}")
            self._send_response(request_id, error=error.to_response_error())
            return _Unreadable()

    def handle_message(self, message: Any) -> None:
        if isinstance(message, _Unreadable):
            return
        method = getattr(message, "method", None)
        request_id = getattr(message, "id", None) if hasattr(message, "method") else None
        refusal = self._refusal(message, method, request_id)
        if refusal is not None:
            # Notifications are dropped; requests are answered, or the client would wait.
            if _valid_id(request_id):
                self._send_response(request_id, error=refusal.to_response_error())
            log.info("refused %r: %s", str(method)[:100], refusal.message)
            return
        if method == types.INITIALIZE:
            self.initialize_seen = True
        super().handle_message(message)

    def _refusal(self, message: Any, method: Any, request_id: Any) -> JsonRpcException | None:
        """Why a message must not reach its handler, if it must not."""
        if not hasattr(message, "method") or method == types.EXIT:
            return None  # a response, or the end
        if not isinstance(method, str):
            return JsonRpcInvalidRequest("the method must be a string")
        if method == types.INITIALIZE and request_id is not None:
            return None
        if not self.initialize_seen:
            return JsonRpcServerNotInitialized("the server has not been initialized")
        if self._shutdown:
            return JsonRpcInvalidRequest("the server is shutting down")
        if method == types.CANCEL_REQUEST and not _valid_id(getattr(message.params, "id", None)):
            return JsonRpcInvalidRequest("$/cancelRequest needs the id of a request")
        if method == types.TEXT_DOCUMENT_DID_CHANGE:
            uri = getattr(getattr(message.params, "text_document", None), "uri", "")
            if document_key(uri) not in self.workspace.text_documents:
                # The client's mistake, not the server's: there is no text to change.
                return JsonRpcInvalidRequest(f"{uri} is not open; its change is ignored")
        return None

    def _check_handler_result(self, future: Future[Any]) -> None:
        # pygls replaces a notification handler's exception by a JsonRpcInternalError that
        # has lost its type and traceback: report the exception itself.
        if not future.cancelled() and (error := future.exception()) is not None:
            self._server.report_internal_error(error)
        # pygls also files the future of each notification it runs as a coroutine or generator
        # (didOpen, didChange, didClose, ...) under a made-up request id, and never takes it
        # out: about 0.8 KB per keystroke, for the server's life. Only requests and
        # notifications still running are in there, so the search is short.
        for key, pending in list(self._request_futures.items()):
            if pending is future:
                del self._request_futures[key]
                break

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> Any:
        # pygls would apply the changes to its copy here, with its own (whole-document,
        # per-change) algorithm; the server's handler applies them once, checked, and
        # gives pygls and the context engine the same resulting text.
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None


class HermesLanguageServer(LanguageServer):
    """pygls server holding the settings, the model client and the feature services."""

    def __init__(self) -> None:
        super().__init__(
            "hermes-lsp",
            __version__,
            protocol_cls=HermesProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.settings = Settings()
        self.root: str | None = None
        # The index reads the live settings when it starts (after initialize);
        # ``index.enable: false`` there still leaves the open documents as context.
        self.context_engine: ContextEngine = (
            WorkspaceContext(
                lambda: self.settings.index, on_problem=self.report_once, limits=lambda: self.settings.limits
            )
            if self.settings.index.enable
            else NullContext()
        )
        self._clients: dict[ModelConfig, ModelClient] = {}
        self._completion_config: ModelConfig | None = None
        self._clients_for: Settings | None = None
        self._job_clients: dict[Job, ModelClient] = {}
        self._reported: set[str] = set()
        self._model_errors_shown: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.status = StatusBoard()
        self._sent_status: tuple[str, str] | None = None
        self.message_gate = MessageGate()
        # Replies to the user's own requests are all shown (asked twice, told twice), up to
        # a rate no person reaches: a client that floods commands gets no flood of pop-ups.
        self.reply_gate = MessageGate(repeat_after=0.0, per_minute=60)
        self._marks: dict[str, LineMark] = {}
        """Per open document, where the last change was: the next one is searched from there."""
        self.loop_watch = loopwatch.LoopWatch() if loopwatch.enabled() else None
        """Measures event-loop stalls, for benchmarks (off unless the environment asks)."""
        self._editor_uris: dict[str, str] = {}
        """Per open document, the URI the editor opened it with (however later messages spell it)."""
        self._paths: dict[str, str] = {}
        """Per open document, its path relative to the workspace: resolving links costs system
        calls, which a keystroke should not pay."""
        self.completions = CompletionService(
            model=lambda: self.model_for("completion"),
            settings=lambda: self.settings.completion,
            limits=lambda: self.settings.limits,
            context=lambda: self.context_engine,
            on_error=self.report_model_error,
            on_success=lambda: self.model_ok("Hermes is ready"),
        )

    # -- transport -----------------------------------------------------------------------

    # -- model client --------------------------------------------------------------------

    def model_for(self, job: Job) -> ModelClient:
        """The model client for a job under the current settings: one per distinct endpoint
        and model, rebuilt when they change (completions and actions share one when alike)."""
        if self._clients_for is not self.settings:  # settings are replaced, never changed in place
            self._sync_clients()
        return self._job_clients[job]

    def _sync_clients(self) -> None:
        """One client per distinct configuration the settings name; the others are closed."""
        self._clients_for = self.settings
        configs = {name: ModelConfig.from_settings(self.settings, name) for name in ("completion", "actions")}
        if configs["completion"] != self._completion_config:
            if self._completion_config is not None:
                self.completions.clear_cache()  # answers of another model
            self._completion_config = configs["completion"]
        for config in [c for c in self._clients if c not in configs.values()]:
            self.spawn(self._clients.pop(config).aclose())
        for job, config in configs.items():
            if config not in self._clients:
                self._clients[config] = ModelClient(config)
            self._job_clients[job] = self._clients[config]

    @property
    def actions_model(self) -> ModelClient:
        """The model client for code actions and commands."""
        return self.model_for("actions")

    def report_model_error(self, error: ModelError) -> None:
        """Tell the user about a model failure once, until the model works again."""
        self.status.model_result(
            "unreachable" if isinstance(error, ModelUnreachable) else "error", str(error)
        )
        self._send_status()
        if str(error) not in self._model_errors_shown:
            self._model_errors_shown.add(str(error))
            self.show_message(str(error), types.MessageType.Error)

    # -- messages, status, background tasks ----------------------------------------------

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls's error hook: a failure inside the server, not bad input from the client.

        Unreadable client traffic never reaches this hook (:meth:`serve_stream` handles
        it); a failed request has been answered with an error and its traceback logged.
        """
        if source is FeatureRequestError:
            return
        self.report_internal_error(error)

    def report_internal_error(self, error: BaseException) -> None:
        """A bug: its traceback goes to the log, and (rate-limited) a pop-up says so."""
        log.error("internal error: %s: %s", type(error).__name__, error, exc_info=error)
        self.show_message(
            f"internal error ({type(error).__name__}: {str(error)[:200]}); the log has the details",
            types.MessageType.Error,
        )

    def unreadable(self, reason: str) -> None:
        """A message from the client that cannot be used: logged, never shown."""
        log.warning("unreadable message from the client: %s", reason[:300])

    def report_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """``window/showMessage``, at most once per distinct message for the server's life."""
        if message in self._reported:
            return
        self._reported.add(message)
        self.show_message(message, kind)

    def show_message(self, message: str, kind: types.MessageType) -> None:
        """``window/showMessage``, unless the same or too many messages were shown lately."""
        self._pop_up(message, kind, self.message_gate)

    def answer_user(self, message: str, kind: types.MessageType) -> None:
        """``window/showMessage`` in answer to something the user asked for."""
        self._pop_up(message, kind, self.reply_gate)

    def _pop_up(self, message: str, kind: types.MessageType, gate: MessageGate) -> None:
        text = with_prefix(message)
        if not gate.allow(text):
            log.warning("not shown (shown just before, or too many messages): %s", text)
            return
        # The log says it at the level the user is shown it: a fix that worked is not a warning.
        log.log(LOG_LEVELS.get(kind, logging.INFO), "%s", text)
        self.window_show_message(types.ShowMessageParams(type=kind, message=text))

    def model_ok(self, message: str) -> None:
        """A model call succeeded: the model is healthy."""
        self._model_errors_shown.clear()  # the model works again: say the next failure again
        self.status.model_result("ready", message)
        self._send_status()

    def begin_work(self, title: str) -> None:
        """An action started: "busy" shows until it ends."""
        self.status.busy.append(title)
        self._send_status()

    def end_work(self, title: str) -> None:
        """An action ended: the status shows what the model calls left behind."""
        if title in self.status.busy:
            self.status.busy.remove(title)
        self._send_status()

    def set_indexing(self, message: str | None) -> None:
        """Indexing progress shows in the status until it ends (``None``)."""
        self.status.indexing = message
        self._send_status()

    def _send_status(self) -> None:
        state, message = self.status.shown()
        if self._sent_status == (state, message):
            return
        self._sent_status = (state, message)
        self.protocol.notify(STATUS_NOTIFICATION, {"state": state, "message": message})

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)
        return task

    # -- settings ------------------------------------------------------------------------

    def apply_settings(self, raw: Any) -> None:
        """Merge a ``hermes`` settings object; bad values are reported once, by key."""
        if raw is None:
            return
        settings, errors = merge_settings(raw, self.settings)
        remember_secret(settings.api_key)
        for error in errors:
            self.report_once(f"setting {error}")
        self.settings = settings

    async def pull_settings(self) -> None:
        """Ask the client for the ``hermes`` section (``workspace/configuration``)."""
        caps = self.client_capabilities.workspace
        if caps is None or not caps.configuration:
            return
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="hermes")])
            )
        except Exception as exc:
            log.warning("workspace/configuration failed: %s", exc)
            return
        if result and isinstance(result[0], dict):
            self.apply_settings(result[0])

    async def check_model(self) -> None:
        """Probe the model servers once so the status bar is right before the first keystroke."""
        completion, actions = self.model_for("completion"), self.model_for("actions")
        try:
            names = [await completion.model()]
            if actions is not completion:
                names.append(f"actions: {await actions.model()}")
        except ModelError as exc:
            self.report_model_error(exc)
            return
        self.model_ok(f"Hermes is ready ({'; '.join(names)})")

    async def start_context(self) -> None:
        """Start the context engine, showing its indexing as progress and status."""
        progress = ProgressReporter(self, "Hermes: indexing")

        loop = asyncio.get_running_loop()

        def report(message: str | None, percentage: int | None) -> None:
            progress(message, percentage)
            loop.call_soon_threadsafe(self.set_indexing, message)

        await self.context_engine.start(self.root, report)

    # -- transport -----------------------------------------------------------------------

    async def serve_stream(self, read_some: ReadSome) -> None:
        """Read and handle LSP messages until the stream ends, skipping malformed ones."""
        frames = FrameReader(read_some, self._bad_frame)
        while not self._stop_event.is_set():
            body = await frames.next_body()
            if body is None:
                return
            self._handle_body(body, frames)
            # Messages already buffered would otherwise be handled back to back: fifty
            # keystrokes in a 5 MB document held the loop 0.3 s from a completion elsewhere.
            await asyncio.sleep(0)

    def _bad_frame(self, fault: Fault) -> None:
        log.warning("%s", fault)

    def _handle_body(self, body: bytes, frames: FrameReader) -> None:
        try:
            message = json.loads(body, object_hook=self.protocol.structure_message)
        except ValueError as exc:  # not JSON, or not UTF-8
            self.unreadable(f"{exc}: {body[:80]!r}")
            frames.rescue(body)
            return
        except (JsonRpcException, RecursionError) as exc:
            self.unreadable(f"{type(exc).__name__}: {exc}: {body[:80]!r}")
            return
        except Exception as exc:  # reading a message must never stop the server
            self.report_internal_error(exc)
            return
        if not hasattr(message, "jsonrpc"):
            self.unreadable(f"not a JSON-RPC message: {body[:80]!r}")
            request_id = message.get("id") if isinstance(message, dict) else None
            if _valid_id(request_id):
                error = JsonRpcInvalidRequest("not a JSON-RPC 2.0 request")
                self.protocol._send_response(request_id, error=error.to_response_error())
            return
        try:
            self.protocol.handle_message(message)
        except Exception as exc:
            self.report_internal_error(exc)

    def _start_io_async(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve stdio with the resynchronising frame reader (pygls's own never recovers)."""
        self._stop_event = threading.Event()
        output = stdout or sys.stdout.buffer
        self.protocol.set_writer(StdoutWriter(output))

        async def serve() -> None:
            await self.serve_stream(stream_reader(stdin or sys.stdin.buffer, output))

        try:
            asyncio.run(serve())  # the exit notification ends it with SystemExit and its status
        except BrokenPipeError:
            log.error("the connection to the client is lost; stopping")
        except KeyboardInterrupt:
            log.info("interrupted; stopping")
        finally:
            self.shutdown()

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client over TCP (:func:`hermes_lsp.tcp.serve_tcp`), never pygls's way,
        where a second connection takes over the first one's replies."""
        from hermes_lsp.tcp import serve_tcp

        serve_tcp(self, host, port)

    # -- documents -----------------------------------------------------------------------

    def open_document(self, item: types.TextDocumentItem) -> None:
        """A document opened in the editor (pygls has stored it already)."""
        key = document_key(item.uri)
        self._marks.pop(key, None)
        self._editor_uris[key] = item.uri
        self._paths[key] = relative(item.uri, self.root)
        self.context_engine.open_document(item.uri, item.text, item.language_id, item.version)

    def change_document(self, params: types.DidChangeTextDocumentParams) -> None:
        """Apply a ``didChange`` once; pygls's copy and the context engine's get the same text.

        A notification the protocol does not allow changes nothing (in either copy) and
        is reported once.
        """
        uri, version = params.text_document.uri, params.text_document.version
        key = document_key(uri)
        document = self.workspace.text_documents.get(key)
        if document is None:
            log.warning("ignored a change to %s, which is not open", uri)
            return
        try:
            changed = apply_changes(
                document.source, params.content_changes, self.position_encoding, self._marks.get(key)
            )
        except InvalidChange as exc:
            log.error("ignored an invalid change to %s (version %s): %s", uri, version, exc)
            self.report_once(
                f"ignored an edit the editor sent for {os.path.basename(to_path(uri))}: {exc}. "
                "Suggestions for this file may be off until it is closed and reopened",
                types.MessageType.Error,
            )
            return
        if changed.mark is None:
            self._marks.pop(key, None)
        else:
            self._marks[key] = changed.mark
        # The document keeps the URI the editor opened it with: edits go back under it.
        self.workspace.put_text_document(
            types.TextDocumentItem(
                uri=document.uri, language_id=document.language_id or "", version=version, text=changed.text
            )
        )
        self.context_engine.change_document(document.uri, changed, version)

    def close_document(self, uri: str) -> None:
        """A document closed in the editor (pygls has dropped it already)."""
        key = document_key(uri)
        self._marks.pop(key, None)
        self._paths.pop(key, None)
        self.completions.forget(self._editor_uris.pop(key, uri))
        self.context_engine.close_document(uri)

    def cursor(self, uri: str, position: types.Position) -> Cursor | None:
        """A completion cursor for an open document, with the position clamped if needed."""
        key = document_key(uri)
        try:
            document = self.workspace.get_text_document(key)
            text = document.source
        except Exception:
            return None  # not open and not readable: nothing to complete
        encoding = self.position_encoding
        located = offset_at(text, position.line, position.character, encoding, self._marks.get(key))
        if located.clamped:
            log.info("position %s:%s is past the end of %s; clamped", position.line, position.character, uri)
        path = self._paths.get(key) or relative(uri, self.root)
        # Keyed by the URI the editor opened the document with, however this request spells it.
        return Cursor(document.uri, text, located.offset, path, document.language_id or _language_of(path))

    def excluded(self, uri: str) -> bool:
        """Whether the user's ignore rules keep this document from the model; says why, once."""
        reason = self.context_engine.exclusion(uri)
        if reason is None:
            return False
        self.report_once(reason, types.MessageType.Info)
        return True

    def syntax_at(self, cursor: Cursor) -> list[str]:
        """Syntax around the cursor, for the single- or multi-line decision."""
        try:
            return self.context_engine.syntax_at(cursor.key, cursor.text, cursor.offset)
        except Exception:
            log.exception("syntax lookup failed; deciding from the text alone")
            return []

    @property
    def position_encoding(self) -> str:
        encoding = self.workspace.position_encoding if self.workspace else None
        return str(encoding or types.PositionEncodingKind.Utf16)


def _language_of(path: str) -> str:
    return os.path.splitext(path)[1].lstrip(".") or "text"


def create_server() -> HermesLanguageServer:
    """Build the server and register every feature."""
    # Imported here: feature modules import this one for the server type.
    from hermes_lsp.features import actions

    server = HermesLanguageServer()
    _register_core(server)
    actions.register(server)
    return server


def _register_core(server: HermesLanguageServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: HermesLanguageServer, params: types.InitializeParams) -> None:
        root = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
        ls.root = to_path(root) if root else params.root_path
        client = params.client_info
        log.info(
            "hermes-lsp %s for %s, workspace %s",
            __version__,
            f"{client.name} {client.version or ''}".strip() if client else "an unnamed client",
            ls.root or "none",
        )
        for problem in env_problems():
            ls.report_once(problem)
        ls.apply_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: HermesLanguageServer, params: types.InitializedParams) -> None:
        if ls.loop_watch is not None:
            ls.loop_watch.start(asyncio.get_running_loop())
        await ls.pull_settings()
        ls.spawn(ls.check_model())
        ls.spawn(ls.start_context())

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: HermesLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        # Clients either push the new values or just say "something changed" (pull model).
        pushed = params.settings.get("hermes") if isinstance(params.settings, dict) else None
        if pushed is not None:
            ls.apply_settings(pushed)
        else:
            await ls.pull_settings()
        ls.spawn(ls.check_model())

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: HermesLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.open_document(params.text_document)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: HermesLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.change_document(params)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HermesLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close_document(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: HermesLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.context_engine.files_changed([to_path(params.text_document.uri)])

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: HermesLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.context_engine.files_changed([to_path(change.uri) for change in params.changes])

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: HermesLanguageServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        if ls.excluded(params.text_document.uri):
            return types.InlineCompletionList(items=[])
        cursor = ls.cursor(params.text_document.uri, params.position)
        if cursor is None:
            return None
        # Asked for explicitly (a key for "next suggestion"): several different ones.
        if params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked:
            texts = await ls.completions.complete_all(cursor, ls.syntax_at(cursor))
        else:
            text = await ls.completions.complete(cursor, ls.syntax_at(cursor))
            texts = [text] if text else []
        here = types.Position(params.position.line, _character(cursor, ls.position_encoding))
        items = [types.InlineCompletionItem(insert_text=t, range=types.Range(here, here)) for t in texts]
        return types.InlineCompletionList(items=items)

    @server.command(COMMAND_WHY_NO_SUGGESTION)
    def why_no_suggestion(ls: HermesLanguageServer, *args: Any) -> dict[str, str]:
        """``[{"uri"}]``: what became of the document's last completion request, as
        ``{"kind", "message"}`` (kind ``none`` when nothing was asked there yet)."""
        uri = args[0].get("uri") if args and isinstance(args[0], dict) else None
        outcome = ls.completions.last_outcome(uri) if isinstance(uri, str) else None
        if outcome is None:
            return {"kind": "none", "message": NOTHING_ASKED}
        return {"kind": outcome.kind, "message": outcome.sentence()}

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "(", " ", "\n"], resolve_provider=False),
    )
    async def completion(ls: HermesLanguageServer, params: types.CompletionParams) -> types.CompletionList:
        empty = types.CompletionList(is_incomplete=True, items=[])
        if not ls.settings.completion.fallback or ls.excluded(params.text_document.uri):
            return empty
        cursor = ls.cursor(params.text_document.uri, params.position)
        if cursor is None:
            return empty
        text = await ls.completions.complete(cursor, ls.syntax_at(cursor))
        if not text:
            return empty
        return types.CompletionList(is_incomplete=True, items=[_completion_item(cursor, text, params, ls)])

    @server.feature(loopwatch.STATS_REQUEST)
    def loop_stats(ls: HermesLanguageServer, params: Any) -> loopwatch.LoopStats | None:
        return ls.loop_watch.take() if ls.loop_watch is not None else None

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: HermesLanguageServer, params: None) -> None:
        await ls.context_engine.stop()
        for client in list(ls._clients.values()):
            await client.aclose()


def _character(cursor: Cursor, encoding: str) -> int:
    before, _ = line_at(cursor.text, cursor.offset)
    return code_units(before, encoding)


def _documentation(ls: HermesLanguageServer, code: str) -> types.MarkupContent | str:
    """The whole suggestion, as markdown where the client renders it."""
    completion = ls.client_capabilities.text_document and ls.client_capabilities.text_document.completion
    item = completion and completion.completion_item
    formats = (item and item.documentation_format) or ()
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(kind=types.MarkupKind.Markdown, value=f"```\n{code}\n```")
    return code


def _completion_item(
    cursor: Cursor, text: str, params: types.CompletionParams, ls: HermesLanguageServer
) -> types.CompletionItem:
    """A classic completion item whose edit replaces the word being typed."""
    before, _ = line_at(cursor.text, cursor.offset)
    word = _WORD_END.search(before).group(0)
    encoding = ls.position_encoding
    end = _character(cursor, encoding)
    start = types.Position(params.position.line, end - code_units(word, encoding))
    first_line = text.split("\n", 1)[0].strip() or text.strip()
    return types.CompletionItem(
        label=(word + first_line)[:60] or "…",
        kind=types.CompletionItemKind.Text,
        detail="Hermes",
        documentation=_documentation(ls, word + text),
        filter_text=word + text,
        sort_text="0",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(
            range=types.Range(start, types.Position(params.position.line, end)), new_text=word + text
        ),
    )
