"""Next-edit requests on the event loop: history in, predictions out, the client's verdicts kept.

record    every didChange (when `next_edit` is on) goes into the workspace's `EditHistory`
request   `codellama/nextEdit`: the newest request for a document cancels the older one, and an
          edit cancels it; it waits while a completion request is in flight, and a completion
          request that arrives while it generates stops it (it runs again after): next edits
          never delay an inline completion
answer    the edits, if the document is still at the version the prediction read; an edit the
          user rejected for the same text is not offered again
inline    a ready prediction's edit on the cursor's line answers `textDocument/inlineCompletion`
          as an item with a replace range (`inline_edit`)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from codellama_ls.documents.document import Document, DocumentStore, UnknownDocument
from codellama_ls.documents.positions import PositionError
from codellama_ls.engine.base import Engine
from codellama_ls.engine.worker import CancelToken, EngineState, EngineWorker
from codellama_ls.jobs import CLOSED, EDITED, NEWER, STOPPED, Job, Jobs
from codellama_ls.nextedit.diff import RegionEdit
from codellama_ls.nextedit.history import EditHistory, EditKind, Hunk, classify
from codellama_ls.nextedit.pipeline import NextEditRequest, Prediction, predict
from codellama_ls.nextedit.region import editable_region
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

Workers = Callable[[str | None], EngineWorker]
Tell = Callable[[str], None]
PREEMPTED = "a completion request"
_KEEP = 256
"""Offered edits and rejections remembered (oldest forgotten first)."""
_WAIT_S = 0.01
_ACCEPT_WINDOW_S = 5.0


@dataclass(frozen=True)
class Offered:
    """An edit sent to the client, by its id."""

    id: str
    uri: str
    version: int
    start: int
    end: int
    text: str
    lines: str
    """The whole lines the edit touches, as they were: with `text`, what a rejection is remembered by."""

    @property
    def verdict_key(self) -> tuple[str, str, str]:
        return (self.uri, self.lines, self.text)


class NextEditJob(Job):
    def __init__(self, doc: Document) -> None:
        super().__init__(doc)
        self.attempt = CancelToken()
        """Set when a completion request preempts this generation; the job itself goes on."""

    def cancelled(self) -> bool:
        return self.token.cancelled or self.attempt.cancelled


class NextEdits:
    """The next-edit side of the session (event loop)."""

    def __init__(
        self,
        documents: DocumentStore,
        workers: Workers,
        tell: Tell,
        completion_busy: Callable[[], bool],
        path_of: Callable[[str], str],
    ) -> None:
        self._documents = documents
        self._workers = workers
        self._tell = tell
        self._completion_busy = completion_busy
        self._path_of = path_of
        self.history = EditHistory()
        self._jobs: Jobs[NextEditJob] = Jobs()
        self._ids = itertools.count(1)
        self._offered: OrderedDict[str, Offered] = OrderedDict()
        self._rejected: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._ready: dict[str, tuple[int, tuple[Offered, ...]]] = {}
        """Per document: the version the last prediction read and its edits (the inline path)."""
        self._accepted_at: dict[str, float] = {}
        self.counts = {"requests": 0, "offered": 0, "shown": 0, "accepted": 0, "rejected": 0, "dropped": 0}
        self.last: dict[str, object] = {}
        """The last prediction, for `codellama/status`."""

    # -- document events --------------------------------------------------------

    def apply(self, settings: Settings) -> None:
        self.history.max_hunks = settings.next_edit_history
        if not settings.next_edit:
            self.history.clear()
            self._ready.clear()
            self._jobs.cancel_all(STOPPED)

    def changed(self, uri: str, before: str, doc: Document, inserted: Iterable[str], settings: Settings) -> None:
        """After a didChange was applied (`before`: the text it changed; `inserted`: its changes' texts,
        joined only when next edits are on, as a full-sync client sends the whole file per keystroke)."""
        self._jobs.cancel(uri, EDITED)
        self._ready.pop(uri, None)
        if not settings.next_edit or doc.skip_reason:
            return
        kind = classify("".join(inserted))
        accepted = self._accepted_at.pop(uri, None)
        if accepted is not None and time.monotonic() - accepted < _ACCEPT_WINDOW_S:
            kind = EditKind.ACCEPTED
        self.history.record(uri, self._path_of(uri), before, doc.text, time.monotonic(), kind)

    def closed(self, uri: str) -> None:
        self._jobs.cancel(uri, CLOSED)
        self._ready.pop(uri, None)
        self.history.forget(uri)

    def preempt(self) -> None:
        """A completion request arrived: generations in flight stop and run again after it."""
        for _, job in self._jobs.items():
            job.attempt.cancel()

    def cancel_all(self) -> None:
        self._jobs.cancel_all(STOPPED)

    # -- the client's verdicts ----------------------------------------------------

    def verdict(self, kind: str, edit_id: object) -> None:
        """`codellama/nextEditShown`, `...Accepted` or `...Rejected` for an edit id."""
        offered = self._offered.get(str(edit_id))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if offered is None:
            log.info("next edit %s: unknown id %r", kind, edit_id)
            return
        log.info("next edit %s %s: %s", offered.id, kind, offered.uri)
        if kind == "accepted":
            self._accepted_at[offered.uri] = time.monotonic()
        elif kind == "rejected":
            self._rejected[offered.verdict_key] = None
            while len(self._rejected) > _KEEP:
                self._rejected.popitem(last=False)

    # -- a request ---------------------------------------------------------------

    async def request(
        self, uri: str, version: int | None, line: int, character: int, settings: Settings
    ) -> list[Offered]:
        """The edits to propose for a cursor; empty when next edit is off, the document moved on,
        or the model proposes nothing."""
        if not settings.next_edit:
            return []
        self.counts["requests"] += 1
        try:
            doc = self._documents.get(uri)
        except UnknownDocument as exc:
            self._tell(f"{exc}; send textDocument/didOpen first")
            return []
        if doc.skip_reason or (version is not None and version != doc.version):
            return []
        try:
            cursor = doc.offset_at(line, character)
        except PositionError as exc:
            log.warning("next edit at an invalid position in %s: %s", uri, exc)
            return []
        worker = self._workers(doc.language.name if doc.language is not None else None)
        if worker.state is not EngineState.READY:
            return []
        job = self._jobs.start(NextEditJob(doc))
        try:
            prediction = await self._run(job, worker, self._request_of(doc, cursor, settings))
        except asyncio.CancelledError:
            job.cancel(STOPPED)  # $/cancelRequest: the worker stops at its next check
            raise
        finally:
            self._jobs.finish(job)
        if prediction is None or job.token.cancelled or not job.still_current(self._documents):
            return []
        return self._answer(doc, prediction)

    def _request_of(self, doc: Document, cursor: int, settings: Settings) -> NextEditRequest:
        hunks = self.history.hunks()[-settings.next_edit_history :] if settings.next_edit_history else []
        return request_for(doc, cursor, self._path_of(doc.uri), hunks, settings)

    async def _run(self, job: NextEditJob, worker: EngineWorker, request: NextEditRequest) -> Prediction | None:
        while True:
            # Completions first: wait while one is in flight (and stop for one that comes, below).
            while self._completion_busy():
                if job.token.cancelled:
                    return None
                await asyncio.sleep(_WAIT_S)
            if job.token.cancelled:
                return None
            job.attempt = CancelToken()

            def work(engine: Engine, job: NextEditJob = job) -> Prediction:
                return predict(engine, request, job.cancelled)

            prediction = await worker.run(work)
            if job.token.cancelled:
                return None
            if not job.attempt.cancelled:
                break
            log.debug("next edit for %s stopped for %s; running it again", request.uri, PREEMPTED)
        if prediction.error:
            self._tell(prediction.error)
        self.last = {
            "uri": request.uri,
            "format": prediction.format.value if prediction.format is not None else None,
            "edits": len(prediction.edits),
            "dropped": prediction.dropped,
            "prompt_tokens": prediction.prompt_tokens,
            "generated_tokens": prediction.generated_tokens,
            "total_ms": prediction.total_ms,
        }
        log.info(
            "next edit for %s: %d edit(s)%s in %.0f ms (%s format, %d prompt tokens, %d generated)",
            request.uri,
            len(prediction.edits),
            f", dropped: {prediction.dropped}" if prediction.dropped else "",
            prediction.total_ms,
            prediction.format.value if prediction.format is not None else "no",
            prediction.prompt_tokens,
            prediction.generated_tokens,
        )
        return prediction

    def _answer(self, doc: Document, prediction: Prediction) -> list[Offered]:
        offered: list[Offered] = []
        for edit in prediction.edits:
            item = self._offer(doc, edit)
            if item.verdict_key in self._rejected:
                self.counts["dropped"] += 1
                log.info("next edit for %s: not offered again (rejected before)", doc.uri)
                continue
            offered.append(item)
        for item in offered:
            self._offered[item.id] = item
        while len(self._offered) > _KEEP:
            self._offered.popitem(last=False)
        self.counts["offered"] += len(offered)
        self._ready[doc.uri] = (doc.version, tuple(offered))
        return offered

    def _offer(self, doc: Document, edit: RegionEdit) -> Offered:
        text = doc.text
        first = text.rfind("\n", 0, edit.start) + 1
        last = text.find("\n", edit.end)
        lines = text[first : len(text) if last < 0 else last]
        return Offered(f"ne{next(self._ids)}", doc.uri, doc.version, edit.start, edit.end, edit.text, lines)

    # -- the inline path -----------------------------------------------------------

    def inline_edit(self, doc: Document, cursor: int) -> tuple[int, int, str] | None:
        """A ready prediction's edit on the cursor's line, as (start, end, text) of that line that
        spans the cursor too (an inline completion's range must hold it); None when there is none."""
        ready = self._ready.get(doc.uri)
        if ready is None or ready[0] != doc.version:
            return None
        text = doc.text
        line_start = text.rfind("\n", 0, cursor) + 1
        line_end = text.find("\n", cursor)
        line_end = len(text) if line_end < 0 else line_end
        for item in ready[1]:
            if line_start <= item.start and item.end <= line_end and "\n" not in item.text:
                start, end = min(item.start, cursor), max(item.end, cursor)
                replaced = text[start : item.start] + item.text + text[item.end : end]
                return start, end, replaced
        return None

    def status(self, settings: Settings) -> dict[str, object]:
        return {
            "enabled": settings.next_edit,
            "format": settings.next_edit_format,
            "history": len(self.history.hunks()),
            **self.counts,
            "last": self.last,
        }


__all__ = ["NEWER", "NextEdits", "Offered"]


def request_for(doc: Document, cursor: int, path: str, hunks: Sequence[Hunk], settings: Settings) -> NextEditRequest:
    """What one prediction reads for `doc` at `cursor`: the region the settings allow around it, the
    history `hunks`, the language's comment; the engine's KV slot is the document's own next-edit one."""
    spec = doc.language
    return NextEditRequest(
        uri=doc.uri,
        path=path,
        text=doc.text,
        cursor=cursor,
        region=editable_region(doc.text, cursor, settings.next_edit_region_lines, doc.tree, doc.source_bytes),
        history=tuple(hunks),
        format_setting=settings.next_edit_format,
        language=spec.name if spec is not None else doc.language_id,
        line_comment=spec.line_comment if spec is not None else None,
        key=f"{doc.uri}#next-edit",  # its own KV slot: the document's completion cache stays
        draft_tokens=settings.draft_tokens,
    )
