"""Inline completion: debounce, one request per document, caches, streaming with early stop.

The service is independent of LSP types: the server hands it a document's text and a
code-point offset and gets back the text to insert (or None). What it guarantees:

- a keystroke waits ``debounceMs`` before the model is asked, and a newer keystroke in
  the same document cancels the older request, closing its HTTP stream;
- a prompt seen before is answered from a cache;
- repository context is retrieved before the prompt is built only when what was typed
  since the last retrieval may find something new; when it is held merely because the
  line distances have drifted, the prompt shows it and the retrieval is refreshed once
  the model request has gone out (off the keystroke's path to the model);
- when the user types the first characters of the suggestion on screen, the rest of it
  is served without asking the model again (type-ahead);
- the stream is closed as soon as post-processing says the rest is not needed, when the
  answer reaches ``limits.maxAnswerChars``, or at ``limits.completionDeadlineMs``; what was
  cut short is shown only if post-processing says its last line is complete;
- post-processing runs on a partial answer only when a line or a bracket may have ended,
  and ever more rarely as the answer grows, so its total cost stays linear in the answer;
- a failure never shows half an answer;
- more suggestions cost nothing until the user asks for them (``complete_all``, for an
  explicitly invoked request): then a few more are sampled at a higher temperature;
- what became of the last request in each document is kept (``last_outcome``), so the
  user can ask why nothing was shown.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from contextlib import aclosing

import attrs

from hermes_lsp.config import CompletionSettings, LimitSettings
from hermes_lsp.context.types import ContextEngine, Piece
from hermes_lsp.features.postprocess import Processed, decide_multiline, postprocess
from hermes_lsp.features.prompt_state import (
    CONTEXT_SLACK,
    DocumentPrompt,
    Retrieved,
    file_view,
    remember_retrieval,
    reusable_retrieval,
    stable_pieces,
)
from hermes_lsp.model.client import ModelClient, ModelContextExceeded, ModelError, ModelUnreachable
from hermes_lsp.model.hermes import (
    Budgets,
    CompletionRequest,
    completion_messages,
    fit_budgets,
)
from hermes_lsp.model.window import limit_after_refusal

log = logging.getLogger(__name__)

# Gaps between requests longer than this are pauses, not typing rhythm.
TYPING_GAP = 0.6
# The adaptive debounce never waits longer than this.
MAX_ADAPTIVE_DEBOUNCE = 0.35
# A partial answer up to this long is post-processed at every line or bracket end; a
# longer one only once it has grown by GROWTH since the last time (linear in total).
CHECK_ALWAYS_CHARS = 4096
GROWTH = 1.25
# Characters after which post-processing could decide that the rest is not needed.
_DECISIVE = frozenset("\n)]}")
# When the user asks for more suggestions: how many more to sample, and how hot. The usual
# temperature is low, so it gives nearly the same text each time; these must differ.
ALTERNATIVES = 2
ALTERNATIVE_TEMPERATURE = 0.8


@attrs.define
class CompletionStats:
    """Counters that the benchmark and the tests read."""

    requests: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    typeahead_hits: int = 0
    superseded: int = 0
    errors: int = 0


@attrs.frozen
class Outcome:
    """What became of the last completion request in a document."""

    kind: str
    """``shown``, ``empty`` (the model had nothing to insert), ``cut-short`` (a limit ended
    the answer before it was whole), ``too-long`` (the prompt did not fit the model's
    context), ``unreachable``, ``model-error``, ``disabled`` or
    ``superseded``."""
    detail: str = ""
    """The error, or how much was shown."""

    def sentence(self) -> str:
        """The answer to "why was nothing shown?", in one sentence."""
        return {
            "shown": f"A suggestion was shown ({self.detail}).",
            "empty": "The model answered, but with nothing to insert at the cursor.",
            "cut-short": "The answer was cut short by limits.completionDeadlineMs or "
            "limits.maxAnswerChars before it was whole, so nothing was shown.",
            "too-long": f"The prompt did not fit the model's context, even shrunk: {self.detail}",
            "unreachable": f"The model server could not be reached: {self.detail}",
            "model-error": f"The model server answered with an error: {self.detail}",
            "disabled": "Completions are switched off in the settings (hermes.completion.enable).",
            "superseded": "Typing went on before the answer came, so that request was dropped.",
        }.get(self.kind, self.detail)


NOTHING_ASKED = "No suggestion has been asked for in this document yet."


class CutShort(Exception):
    """A limit ended the answer before post-processing could call it whole."""


@attrs.frozen
class Shown:
    """The last suggestion offered in a document, for type-ahead."""

    prefix: str
    suffix: str
    text: str


@attrs.frozen
class Cursor:
    """Where to complete, as the service needs it."""

    key: str
    """Identifies the document (its URI): one in-flight request per key."""
    text: str
    offset: int
    path: str
    language: str


@attrs.define
class Prepared:
    """A prompt, and what to do once the request carrying it has reached the model server."""

    messages: list[dict[str, str]]
    refresh: Callable[[], None] | None = None
    """Retrieves the context again for this cursor, when the prompt showed a retrieval
    held past the length limit (see :func:`~.prompt_state.reusable_retrieval`)."""

    def sent(self) -> None:
        """The request has gone out: run the refresh, if any, once."""
        refresh, self.refresh = self.refresh, None
        if refresh is not None:
            refresh()


def typeahead(shown: Shown | None, prefix: str, suffix: str) -> str | None:
    """The rest of a shown suggestion, if the user has been typing its first characters."""
    if shown is None or suffix != shown.suffix or not prefix.startswith(shown.prefix):
        return None
    typed = prefix[len(shown.prefix) :]
    if typed and shown.text.startswith(typed) and len(typed) < len(shown.text):
        return shown.text[len(typed) :]
    return None


class CompletionService:
    """Answers inline-completion requests for all open documents."""

    def __init__(
        self,
        model: Callable[[], ModelClient],
        settings: Callable[[], CompletionSettings],
        context: Callable[[], ContextEngine],
        on_error: Callable[[ModelError], None],
        on_success: Callable[[], None] = lambda: None,
        limits: Callable[[], LimitSettings] = LimitSettings,
    ) -> None:
        self._model = model
        self._settings = settings
        self._limits = limits
        self._context = context
        self._on_error = on_error
        self._on_success = on_success
        self._inflight: dict[str, asyncio.Task[list[str]]] = {}
        self._shown: dict[str, Shown] = {}
        self._prompts: dict[str, DocumentPrompt] = {}
        self._cache: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._rhythm: dict[str, deque[float]] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._last_request: dict[str, float] = {}
        self.stats = CompletionStats()

    def _debounce(self, key: str, settings: CompletionSettings) -> float:
        """Seconds to wait before asking the model, from the settings and the typing rhythm."""
        base = settings.debounce_ms / 1000
        gaps = self._rhythm.get(key)
        if not settings.adaptive_debounce or not base or not gaps or len(gaps) < 5:
            return base
        # Nearly all of this user's keystrokes come within the 95th percentile of their gaps;
        # waiting a little longer than that means waiting for a real pause.
        typical = sorted(gaps)[int(len(gaps) * 0.95) - 1]
        return min(max(base, typical * 1.25), MAX_ADAPTIVE_DEBOUNCE)

    def _note_keystroke(self, key: str) -> None:
        now = time.monotonic()
        last = self._last_request.get(key)
        self._last_request[key] = now
        if last is not None and now - last < TYPING_GAP:
            self._rhythm.setdefault(key, deque(maxlen=30)).append(now - last)

    def last_outcome(self, key: str) -> Outcome | None:
        """What became of the document's last completion request (None: there was none)."""
        return self._outcomes.get(key)

    def forget(self, key: str) -> None:
        """Drop per-document state (the document was closed)."""
        self._shown.pop(key, None)
        self._outcomes.pop(key, None)
        self._prompts.pop(key, None)
        self._rhythm.pop(key, None)
        self._last_request.pop(key, None)
        task = self._inflight.pop(key, None)
        if task is not None:
            task.cancel()

    def clear_cache(self) -> None:
        """Forget cached answers (the model or endpoint changed)."""
        self._cache.clear()
        self._shown.clear()

    async def complete(self, cursor: Cursor, node_types: Sequence[str] = ()) -> str | None:
        """The text to insert at the cursor, or None.

        Raises ``CancelledError`` only when the caller itself is cancelled; a request
        superseded by a newer keystroke returns None.
        """
        texts = await self._run(cursor, node_types, invoked=False)
        return texts[0] if texts else None

    async def complete_all(self, cursor: Cursor, node_types: Sequence[str] = ()) -> list[str]:
        """Different suggestions for the cursor, the usual one first, for a user who asked.

        No debounce (the user pressed a key for this), and ``ALTERNATIVES`` more requests at
        ``ALTERNATIVE_TEMPERATURE``; duplicates are dropped.
        """
        return await self._run(cursor, node_types, invoked=True)

    async def _run(self, cursor: Cursor, node_types: Sequence[str], invoked: bool) -> list[str]:
        settings = self._settings()
        self.stats.requests += 1
        self._note_keystroke(cursor.key)
        prefix, suffix = cursor.text[: cursor.offset], cursor.text[cursor.offset :]
        older = self._inflight.pop(cursor.key, None)
        if older is not None and not older.done():
            older.cancel()
            self.stats.superseded += 1
        if not settings.enable:
            self._outcomes[cursor.key] = Outcome("disabled")
            return []
        ahead = None if invoked else typeahead(self._shown.get(cursor.key), prefix, suffix)
        if ahead is not None:
            self.stats.typeahead_hits += 1
            self._outcomes[cursor.key] = Outcome("shown", "the rest of the one on screen")
            return [ahead]

        task = asyncio.ensure_future(self._complete(cursor, prefix, suffix, node_types, settings, invoked))
        self._inflight[cursor.key] = task
        try:
            texts = await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if task.cancelled() and current is not None and not current.cancelling():
                self._outcomes[cursor.key] = Outcome("superseded")
                return []  # superseded by a newer keystroke
            raise
        except ModelError as exc:
            self.stats.errors += 1
            self._on_error(exc)
            kind = (
                "too-long"
                if isinstance(exc, ModelContextExceeded)
                else "unreachable"
                if isinstance(exc, ModelUnreachable)
                else "model-error"
            )
            self._outcomes[cursor.key] = Outcome(kind, str(exc))
            return []
        except CutShort:
            self._outcomes[cursor.key] = Outcome("cut-short")
            return []
        finally:
            if self._inflight.get(cursor.key) is task:
                del self._inflight[cursor.key]
        count = f"{len(texts)} suggestions" if len(texts) > 1 else f"{sum(len(t) for t in texts)} characters"
        self._outcomes[cursor.key] = Outcome("shown", count) if texts else Outcome("empty")
        return texts

    async def _complete(
        self,
        cursor: Cursor,
        prefix: str,
        suffix: str,
        node_types: Sequence[str],
        settings: CompletionSettings,
        invoked: bool,
    ) -> list[str]:
        delay = 0.0 if invoked else self._debounce(cursor.key, settings)
        if delay:
            await asyncio.sleep(delay)
        multiline = decide_multiline(cursor.text, cursor.offset, settings.multiline, node_types)
        client = self._model()
        limit = await client.context_length()
        for may_retry in (True, False):
            budgets = fit_budgets(
                Budgets(settings.prefix_tokens, settings.suffix_tokens, settings.context_budget),
                settings.max_tokens,
                limit,
                client.chars_per_token,
                CONTEXT_SLACK,
            )
            prepared = self.prepare(cursor, multiline, budgets)
            messages = prepared.messages
            # The prompt itself is the key: hashing it is cheaper than a digest, and equal
            # hashes are confirmed by comparing the text.
            key = (messages[-1]["content"], settings.max_tokens)
            try:
                text = await self._cached_or_asked(
                    key, messages, prefix, suffix, multiline, settings, prepared.sent
                )
            except ModelContextExceeded as exc:
                if not may_retry:
                    raise
                limit = await limit_after_refusal(client, exc, messages)
                continue  # once more, shrunk to what the server takes
            break
        if text:
            self._shown[cursor.key] = Shown(prefix, suffix, text)
        texts = [text] if text else []
        if invoked:
            hotter = attrs.evolve(settings, temperature=max(settings.temperature, ALTERNATIVE_TEMPERATURE))
            more = await asyncio.gather(
                *(
                    self._cached_or_asked(
                        (f"{key[0]}\x00{n}", key[1]),
                        messages,
                        prefix,
                        suffix,
                        multiline,
                        hotter,
                        prepared.sent,
                    )
                    for n in range(1, ALTERNATIVES + 1)
                ),
                return_exceptions=True,  # extras: one that fails or is cut short leaves the others
            )
            texts += [t for t in more if isinstance(t, str) and t]
        return list(dict.fromkeys(texts))

    async def _cached_or_asked(
        self,
        key: tuple[str, int],
        messages: list[dict[str, str]],
        prefix: str,
        suffix: str,
        multiline: bool,
        settings: CompletionSettings,
        sent: Callable[[], None],
    ) -> str:
        text = self._cache.get(key)
        if text is not None:
            self._cache.move_to_end(key)
            self.stats.cache_hits += 1
            return text  # nothing went out: a pending refresh is left to the next prompt
        text = await self._ask(messages, prefix, suffix, multiline, settings, sent)
        self._remember(key, text, settings.cache_size)
        return text

    def prepare(self, cursor: Cursor, multiline: bool, budgets: Budgets) -> Prepared:
        """The chat messages for a cursor, laid out to start like this document's last
        prompt, and the context refresh they leave for when the request has gone out
        (:meth:`Prepared.sent`)."""
        state, view, restart = file_view(
            self._prompts.get(cursor.key), cursor.text, cursor.offset, budgets.prefix, budgets.suffix
        )
        self._prompts[cursor.key] = state
        pieces: list[Piece] = []
        refresh = None
        if budgets.context:
            try:
                engine = self._context()
                reuse = reusable_retrieval(state, cursor.text, cursor.offset, budgets.context, engine.defines)
                if reuse is None:
                    fresh = engine.context(
                        cursor.key, cursor.text, cursor.offset, budgets.context, "completion"
                    )
                    remember_retrieval(state, cursor.text, cursor.offset, budgets.context, fresh)
                else:
                    fresh = reuse.pieces
                    if reuse.refresh and state.retrieved is not None:
                        refresh = functools.partial(
                            self._refresh, state, state.retrieved, cursor, budgets.context
                        )
                # Pieces shown before are shown again only while the ignore rules allow them.
                pieces = stable_pieces(state, fresh, budgets.context, restart, engine.shares)
            except Exception:
                # Context is an improvement, never a reason to fail a completion.
                log.exception("context retrieval failed; completing from the document only")
        request = CompletionRequest(cursor.path, cursor.language, view, multiline)
        return Prepared(completion_messages(request, pieces), refresh)

    def _refresh(self, state: DocumentPrompt, stale: Retrieved, cursor: Cursor, budget: int) -> None:
        """Retrieve again for a cursor whose prompt showed ``stale``, for the next prompt."""
        if state.retrieved is not stale:
            return  # a newer retrieval is there already
        try:
            fresh = self._context().context(cursor.key, cursor.text, cursor.offset, budget, "completion")
        except Exception:
            # The completion went out already; the next prompt retrieves before it is built.
            log.exception("refreshing the context failed")
            return
        remember_retrieval(state, cursor.text, cursor.offset, budget, fresh)

    async def _ask(
        self,
        messages: list[dict[str, str]],
        prefix: str,
        suffix: str,
        multiline: bool,
        settings: CompletionSettings,
        sent: Callable[[], None],
    ) -> str:
        """The model's suggestion. Raises ``ModelError`` (``ModelContextExceeded`` for a prompt
        too long), or ``CutShort`` when a limit ended the answer before it was whole: never
        half an answer, and nothing to cache. ``sent`` is called once the server has
        answered (its first token): the request has gone out, and the model is busy."""
        self.stats.model_calls += 1
        limits = self._limits()

        def process(answer: str) -> Processed:
            return postprocess(answer, prefix, suffix, multiline=multiline, max_lines=settings.max_lines)

        raw = ""
        checked = 0
        complete = False
        try:
            stream = self._model().stream_chat(
                messages,
                max_tokens=settings.max_tokens,
                temperature=settings.temperature,
            )
            async with asyncio.timeout(limits.completion_deadline_ms / 1000):
                async with aclosing(stream) as deltas:
                    async for delta in deltas:
                        if not raw:
                            sent()  # the server is answering: work now delays no request to it
                        raw += delta
                        if len(raw) >= limits.max_answer_chars:
                            raw = raw[: limits.max_answer_chars]
                            log.info("completion answer reached %d characters; closing it", len(raw))
                            break
                        if _worth_checking(delta, len(raw), checked):
                            checked = len(raw)
                            if process(raw).truncated:
                                break  # the rest is not needed: closing the stream frees the GPU
                    else:
                        complete = True
                        sent()  # an answer with no text went out too
        except TimeoutError:
            log.info("completion still streaming after %d ms; closed", limits.completion_deadline_ms)
        self._on_success()
        result = process(raw)
        if not complete and not result.truncated:
            # Cut short by a limit with no rule saying the text so far is whole: show nothing
            # (and cache nothing: the next request may get a whole answer).
            raise CutShort
        return result.text

    def _remember(self, key: tuple[str, int], text: str, size: int) -> None:
        if size <= 0:
            return
        self._cache[key] = text
        while len(self._cache) > size:
            self._cache.popitem(last=False)


def _worth_checking(delta: str, length: int, checked: int) -> bool:
    """Whether post-processing the partial answer could stop the stream now."""
    if not _DECISIVE.intersection(delta):
        return False
    return length <= CHECK_ALWAYS_CHARS or length >= checked * GROWTH
