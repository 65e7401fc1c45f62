"""The one thread that owns the engine: loading, tokenizing and generating all run here.

llama.cpp contexts are not thread-safe, and inference must never block the
asyncio loop that reads `didChange` and `$/cancelRequest`; a single worker thread
gives both.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from enum import Enum
from typing import TypeVar

from codellama_ls.engine.base import Engine, EngineError, Progress
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

EngineFactory = Callable[[Settings, Progress], Engine]


class EngineState(str, Enum):
    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


def _identity(path: str) -> tuple[int, ...] | None:
    """What tells a file replaced or rewritten from the one loaded; None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class ModelFile:
    """The model file as it was when loaded (or when loading it failed), to notice a change."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._seen = _identity(path)

    def change(self) -> str | None:
        """How the file is no longer what was loaded: "replaced" (another file moved into place,
        or the first to appear) or "rewritten" (the same file written over in place); None when
        unchanged. A file that went away is no change: the weights are in memory, not mapped."""
        now = _identity(self.path)
        if now is None or now == self._seen:
            return None
        return "rewritten" if self._seen is not None and now[:2] == self._seen[:2] else "replaced"


class CancelToken:
    """Set by the event loop, read by the worker between decode steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def __call__(self) -> bool:
        return self._event.is_set()


class EngineWorker:
    def __init__(self, factory: EngineFactory) -> None:
        self._factory = factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="engine")
        self._engine: Engine | None = None
        self.state = EngineState.IDLE
        self.error: str | None = None
        self._generation = 0
        self.model_file: ModelFile | None = None
        """The file the engine was loaded from, or failed to load from; None when unknown."""
        self.loads = 0
        """Models loaded successfully so far."""

    @property
    def engine(self) -> Engine | None:
        return self._engine

    async def load(self, settings: Settings, progress: Progress) -> None:
        """(Re)load the model; on failure `state` is FAILED and `error` says why."""
        self._generation += 1
        generation = self._generation
        self.state, self.error = EngineState.LOADING, None
        self.model_file = None

        def work() -> Engine:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
            return self._factory(settings, progress)

        try:
            engine = await self.run_raw(work)
        except EngineError as exc:
            if generation == self._generation:
                self.state, self.error = EngineState.FAILED, str(exc)
                self.model_file = ModelFile(exc.path) if exc.path else None
            return
        except Exception as exc:  # a bug or an unexpected library error: report, stay up
            log.exception("loading the model failed")
            if generation == self._generation:
                self.state, self.error = EngineState.FAILED, f"Loading the model failed: {exc}"
            return
        if generation != self._generation:
            # A newer load was asked for while this one ran; it will replace this engine.
            await self.run_raw(engine.close)
            return
        self._engine = engine
        path = engine.info.path
        self.model_file = ModelFile(path) if os.path.isfile(path) else None
        self.loads += 1
        self.state = EngineState.READY

    def model_file_change(self) -> str | None:
        """How the model file is no longer the one loaded (or that failed to load), see
        `ModelFile.change`: then it should be loaded again. None while a load runs."""
        if self.state not in (EngineState.READY, EngineState.FAILED) or self.model_file is None:
            return None
        return self.model_file.change()

    async def run_raw(self, work: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, work)

    async def run(self, work: Callable[[Engine], T]) -> T:
        """Run `work(engine)` on the worker thread; the engine must be READY."""

        def call() -> T:
            if self._engine is None:
                raise EngineError("the model is not loaded")
            return work(self._engine)

        return await self.run_raw(call)

    def close(self) -> None:
        def work() -> None:
            if self._engine is not None:
                self._engine.close()
                self._engine = None

        try:
            self._executor.submit(work).result(timeout=10)
        except Exception:  # closing is best effort at shutdown
            log.debug("closing the engine failed", exc_info=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
