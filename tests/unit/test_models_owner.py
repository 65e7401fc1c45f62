"""`Models`: the one owner of the completion, Python and instruct workers."""

from __future__ import annotations

import dataclasses

from codellama_ls.engine.base import Progress
from codellama_ls.engine.scripted import ScriptedEngine
from codellama_ls.engine.worker import EngineState
from codellama_ls.models.workers import Models
from codellama_ls.settings.config import Settings


class Closing(ScriptedEngine):
    def __init__(self, model: str) -> None:
        super().__init__("")
        self.model = model
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Owner:
    def __init__(self) -> None:
        self.made: list[Closing] = []
        self.told: list[str] = []
        self.swaps = 0
        self.models = Models(self.factory, lambda message, kind: self.told.append(message))
        self.models.before_python_swap = self.swapped

    def factory(self, settings: Settings, progress: Progress) -> Closing:
        engine = Closing(settings.model)
        self.made.append(engine)
        return engine

    def swapped(self) -> None:
        self.swaps += 1

    def engine(self, model: str) -> Closing:
        return next(engine for engine in self.made if engine.model == model)


async def test_every_worker_is_closed_on_exit() -> None:
    owner = Owner()
    settings = Settings(model="main", python_model="py", instruct_model="chat")
    await owner.models.load(settings, lambda message, done, total: None)
    owner.models.sync_python(settings)
    assert owner.models.python is not None
    await owner.models._python_task  # type: ignore[misc]
    assert await owner.models.for_instructions(settings) is owner.models.instruct
    assert owner.models.worker_for("python") is owner.models.python
    assert owner.models.worker_for("rust") is owner.models.completion
    owner.models.close()
    assert [(e.model, e.closed) for e in owner.made] == [("main", True), ("py", True), ("chat", True)]


async def test_only_a_setting_that_needs_it_loads_a_model_again() -> None:
    owner = Owner()
    settings = Settings(model="main", python_model="py", instruct_model="chat")
    owner.models.sync_python(settings)
    await owner.models.for_instructions(settings)
    owner.models.sync_python(dataclasses.replace(settings, max_tokens=7))  # no reload field
    await owner.models.for_instructions(dataclasses.replace(settings, max_tokens=7))
    assert owner.swaps == 0
    owner.models.sync_python(dataclasses.replace(settings, n_ctx=1024))
    assert owner.swaps == 1  # the requests on the old Python model end before it closes
    await owner.models.for_instructions(dataclasses.replace(settings, instruct_model=""))
    assert owner.models.instruct is None and owner.engine("chat").closed
    owner.models.close()


async def test_status_reports_each_model_and_what_it_can_do() -> None:
    owner = Owner()
    settings = Settings(model="main")
    await owner.models.load(settings, lambda message, done, total: None)
    status = owner.models.status()
    assert status["state"] == EngineState.READY.value and status["python_model"] is None
    assert status["roles"] == {"completion_fim": True, "instruct_format": None, "instruct_model": None}
    assert await owner.models.for_instructions(settings) is owner.models.completion  # no instruct_model
    owner.models.close()


async def test_a_model_that_is_not_ready_is_named() -> None:
    owner = Owner()
    assert await owner.models.for_instructions(Settings()) is None
    assert owner.told == ["the model is not ready (idle)"]
