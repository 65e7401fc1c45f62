"""The one owner of every loaded model's worker (event loop): the completion model, `python_model`'s
and `instruct_model`'s. It loads them, loads one again when a setting that needs it changes, closes
them all on exit, and reports what each holds for `codellama/status`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from lsprotocol import types

from codellama_ls.engine.base import Progress
from codellama_ls.engine.worker import EngineFactory, EngineState, EngineWorker
from codellama_ls.prompts.chat import style_of
from codellama_ls.prompts.families import family_named
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

Tell = Callable[[str, types.MessageType], None]
"""Shows the user a message (once)."""

# Settings that only take effect when a model is loaded again.
RELOAD_FIELDS = Settings.reload_fields()


def needs_reload(old: Settings | None, new: Settings) -> bool:
    return old is None or any(getattr(old, f) != getattr(new, f) for f in RELOAD_FIELDS)


class Models:
    def __init__(self, factory: EngineFactory, tell: Tell) -> None:
        self._factory = factory
        self._tell = tell
        self.completion = EngineWorker(factory)
        self.python: EngineWorker | None = None
        """`python_model`'s worker while that setting is set: it completes Python documents."""
        self._python_settings: Settings | None = None
        self._python_task: asyncio.Task[None] | None = None
        self.instruct: EngineWorker | None = None
        """`instruct_model`'s worker, made at its first use; None while the completion model serves."""
        self._instruct_settings: Settings | None = None
        self.before_python_swap: Callable[[], None] = lambda: None
        """Called before `python_model`'s worker is closed or replaced: the requests on it end first."""

    def worker_for(self, language: str | None) -> EngineWorker:
        """The worker that completes a document of this language."""
        if self.python is not None and language == "python":
            return self.python
        return self.completion

    # -- the completion model ----------------------------------------------------------

    async def load(self, settings: Settings, progress: Progress) -> None:
        await self.completion.load(settings, progress)

    # -- python_model ------------------------------------------------------------------

    def sync_python(self, settings: Settings) -> None:
        """Load, reload or free `python_model`'s worker to match the settings (not per request)."""
        name = settings.python_model.strip()
        wanted = dataclasses.replace(settings, model=name) if name else None
        if wanted is not None and not needs_reload(self._python_settings, wanted):
            return
        old = self.python
        if old is not None:
            # Requests running on the old model end first: closing its worker drops queued work.
            self.before_python_swap()
            self.python = None
            old.close()
            self._python_settings = None
        if wanted is None:
            return
        worker = self.python = EngineWorker(self._factory)
        self._python_settings = wanted
        worker.state = EngineState.LOADING
        self._python_task = asyncio.ensure_future(self._load_python(worker, wanted))

    async def _load_python(self, worker: EngineWorker, settings: Settings) -> None:
        await worker.load(settings, lambda message, done, total: log.info("python model: %s", message))
        if worker.state is EngineState.READY and worker.engine is not None:
            info = worker.engine.info
            log.info("python model ready: %s (%s, fim=%s)", info.name, info.path, info.fim is not None)
        elif worker.error and worker is self.python:
            self._tell(f"python_model: {worker.error}", types.MessageType.Error)

    # -- instruct_model ----------------------------------------------------------------

    def follows_instructions(self, settings: Settings) -> bool:
        """Whether some model can do code actions, without telling anyone when none can."""
        if settings.instruct_model.strip():
            return True
        engine = self.completion.engine
        return engine is not None and style_of(engine.info.chat_template, engine.info.metadata_name) is not None

    async def for_instructions(self, settings: Settings) -> EngineWorker | None:
        """The worker whose model follows instructions: `instruct_model`'s when it is set (loaded
        now if it is not yet, or if the setting changed), else the completion model's. None, with
        the user told why, when it is not ready."""
        name = settings.instruct_model.strip()
        if not name:
            if self.instruct is not None:  # the setting was cleared: free the second model
                self.instruct.close()
                self.instruct = self._instruct_settings = None
            worker = self.completion
        else:
            wanted = dataclasses.replace(settings, model=name)
            if self.instruct is None or needs_reload(self._instruct_settings, wanted):
                if self.instruct is not None:
                    self.instruct.close()
                self.instruct = EngineWorker(self._factory)
                self._instruct_settings = wanted
                # Loading (or downloading) it takes a while at the first action: say why nothing happens yet.
                self._tell(f"loading the instruct model {wanted.model} for code actions", types.MessageType.Info)
                await self.instruct.load(wanted, lambda message, done, total: log.info("%s", message))
            worker = self.instruct
        if worker.state is not EngineState.READY:
            which = "the instruct model" if worker is self.instruct else "the model"
            detail = f": {worker.error}" if worker.error else f" ({worker.state.value})"
            self._tell(f"{which} is not ready{detail}", types.MessageType.Warning)
            return None
        return worker

    # -- status and lifetime -----------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The completion model's fields of `codellama/status`, `python_model` and the roles."""
        worker = self.completion
        info = worker.engine.info if worker.engine is not None else None
        return {
            "state": worker.state.value,
            "error": worker.error,
            "model": info.path if info else None,
            "model_name": info.name if info else None,
            "fim": info.fim is not None if info else None,
            "fim_family": family_named(info.fim.family).name if info and info.fim else None,
            "n_ctx": info.n_ctx if info else None,
            "gpu_layers": info.gpu_layers if info else None,
            "threads": info.threads or None if info else None,
            "threads_reason": info.threads_reason or None if info else None,
            "model_loads": worker.loads,
            "computed": info.where if info else None,
            "python_model": self._python_status(),
            "roles": self.roles(),
        }

    def _python_status(self) -> dict[str, Any] | None:
        worker = self.python
        if worker is None or self._python_settings is None:
            return None
        info = worker.engine.info if worker.engine is not None else None
        return {
            "setting": self._python_settings.model,
            "path": info.path if info else None,
            "state": worker.state.value,
            "fim": info.fim is not None if info else None,
            "n_ctx": info.n_ctx if info else None,
            "error": worker.error,
        }

    def roles(self) -> dict[str, Any]:
        """What each loaded model can do, read from its GGUF."""
        main = self.completion.engine
        instruct = self.instruct.engine if self.instruct is not None else None
        style = style_of(main.info.chat_template, main.info.metadata_name) if main is not None else None
        return {
            "completion_fim": main.info.fim is not None if main is not None else None,
            "instruct_format": style.value if style is not None else None,
            "instruct_model": instruct.info.path if instruct is not None else None,
        }

    def close(self) -> None:
        """Every worker, also on an exit without `shutdown`."""
        for worker in (self.completion, self.python, self.instruct):
            if worker is not None:
                worker.close()
        self.python = self.instruct = None
