"""Progress sent to the client: model loading, and suggestions while they grow (event loop).

Both talk to the client through pygls' server object; nothing here decides
anything, so a client that refuses or went away only loses the progress.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

PARTIAL_NOTIFICATION = "codellama/partialCompletion"
# At most 20 updates a second.
_MIN_INTERVAL_S = 0.05


class LoadProgress:
    """Work-done progress for model download and loading, and the same in the log.

    Made and ended on the loop; called with (message, done, total) from the engine thread."""

    def __init__(self, server: LanguageServer | None) -> None:
        """`server` None: the client does not take work-done progress; the log only."""
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._token = f"codellama-ls/{uuid.uuid4()}"
        self._ok = False  # set before the engine thread first calls
        self._last = -1

    async def begin(self, title: str, message: str) -> None:
        if self._server is None:
            return
        try:
            await self._server.work_done_progress.create_async(self._token)
            self._server.work_done_progress.begin(
                self._token, types.WorkDoneProgressBegin(title=title, message=message, cancellable=False)
            )
            self._ok = True
        except Exception:  # the client refused or does not answer: load without progress
            log.debug("work done progress unavailable", exc_info=True)

    def __call__(self, message: str, done: int, total: int | None) -> None:
        if self._ok:
            self._loop.call_soon_threadsafe(self._report, message, done, total)
        log.info("%s%s", message, f" {done * 100 // total}%" if total else "")

    def _report(self, message: str, done: int, total: int | None) -> None:
        assert self._server is not None
        percent = min(done * 100 // total, 100) if total else None
        if percent is not None and percent == self._last:
            return
        self._last = percent if percent is not None else -1
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=message, percentage=percent)
        )

    def end(self, message: str) -> None:
        if self._ok:
            assert self._server is not None
            self._server.work_done_progress.end(self._token, types.WorkDoneProgressEnd(message=message))


class PartialStream:
    """Streams one request's growing suggestion: $/progress for a client's workDoneToken, and our
    own `codellama/partialCompletion` notification when `partialNotifications` is on.

    Called with the text so far from the engine thread, and with None (done) from the loop; it
    sends on the loop, at most 20 times a second."""

    def __init__(
        self,
        server: LanguageServer,
        uri: str,
        position: types.Position,
        progress_token: types.ProgressToken | None,
        notify: bool,
    ) -> None:
        self._server = server
        self._loop = asyncio.get_running_loop()
        self._uri = uri
        self._position = position
        self._progress_token = progress_token
        self._notify = notify
        self._last = 0.0  # written on the engine thread only (None comes last, from the loop)
        self._begun = False  # read and written on the loop only

    def __call__(self, text: str | None) -> None:
        now = time.perf_counter()
        if text is not None and now - self._last < _MIN_INTERVAL_S:
            return
        self._last = now
        self._loop.call_soon_threadsafe(self._send, text)

    def _send(self, text: str | None) -> None:
        try:
            token = self._progress_token
            if token is not None:
                progress = self._server.work_done_progress
                if text is None:
                    if self._begun:
                        progress.end(token, types.WorkDoneProgressEnd())
                    return
                if not self._begun:
                    self._begun = True
                    progress.begin(token, types.WorkDoneProgressBegin(title="codellama-ls"))
                progress.report(token, types.WorkDoneProgressReport(message=text))
            if self._notify and text is not None:
                position = {"line": self._position.line, "character": self._position.character}
                self._server.protocol.notify(
                    PARTIAL_NOTIFICATION, {"uri": self._uri, "position": position, "text": text}
                )
        except Exception:  # a client that went away must not break generation
            log.debug("partial result not sent", exc_info=True)
