"""The engine worker: loads that race, failures, and work on its one thread (no timing)."""

from __future__ import annotations

import asyncio
import threading

from codellama_ls.engine.base import EngineError, Progress
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.engine.worker import EngineState, EngineWorker
from codellama_ls.settings.config import Settings


class Closing(ScriptedEngine):
    def __init__(self, name: str) -> None:
        super().__init__("")
        self.name = name
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Factory:
    """Makes the engine named by the `model` setting, on the worker thread; "bad" fails."""

    def __init__(self) -> None:
        self.made: list[Closing] = []
        self.threads: set[str] = set()

    def __call__(self, settings: Settings, progress: Progress) -> Closing:
        self.threads.add(threading.current_thread().name)
        if settings.model == "bad":
            raise EngineError("no such model")
        engine = Closing(settings.model)
        self.made.append(engine)
        return engine


def no_progress(message: str, done: int, total: int | None) -> None:
    pass


async def test_the_newest_of_two_racing_loads_wins() -> None:
    factory = Factory()
    worker = EngineWorker(factory)
    try:
        # The second load is asked for while the first is still running on the engine thread.
        await asyncio.gather(
            worker.load(Settings(model="first"), no_progress), worker.load(Settings(model="second"), no_progress)
        )
        assert worker.state is EngineState.READY and worker.error is None
        assert isinstance(worker.engine, Closing) and worker.engine.name == "second"
        first, second = factory.made
        assert first.closed and not second.closed  # the superseded engine is not leaked
        assert all(name.startswith("engine") for name in factory.threads)
    finally:
        worker.close()


async def test_a_stale_failure_does_not_override_a_newer_load() -> None:
    worker = EngineWorker(Factory())
    try:
        await asyncio.gather(
            worker.load(Settings(model="bad"), no_progress), worker.load(Settings(model="good"), no_progress)
        )
        assert worker.state is EngineState.READY and worker.error is None
        await asyncio.gather(
            worker.load(Settings(model="good"), no_progress), worker.load(Settings(model="bad"), no_progress)
        )
        assert worker.state is EngineState.FAILED and worker.error == "no such model"
        assert worker.engine is None
    finally:
        worker.close()


async def test_reload_closes_the_old_engine_first_and_work_runs_on_the_engine_thread() -> None:
    factory = Factory()
    worker = EngineWorker(factory)
    try:
        await worker.load(Settings(model="one"), no_progress)
        where = await worker.run(lambda engine: threading.current_thread().name)
        assert where.startswith("engine")
        await worker.load(Settings(model="two"), no_progress)
        one, two = factory.made
        assert one.closed and not two.closed and worker.engine is two
    finally:
        worker.close()
    assert two.closed  # closing the worker closes its engine
