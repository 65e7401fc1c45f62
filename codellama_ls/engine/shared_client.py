"""`engine = shared`: this server's side of the per-user engine process (`engine/service.py`).

The vocabulary is read here from the GGUF (vocab-only, no weights), so prompts are built token for
token as with the local engine and only generation crosses the socket. The first server to need
an engine starts it, holding a lock file so two servers starting at once start one engine; later
servers attach. An engine that died is started again by the next request, and the user is told once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

from codellama_ls import __version__
from codellama_ls.engine.base import (
    Cancelled,
    EngineError,
    Generates,
    GeneratesElsewhere,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    PieceStream,
)
from codellama_ls.engine.endpoint import Endpoint, choose_transport, dial, same_secret
from codellama_ls.engine.platforms import exclusive, start_detached
from codellama_ls.engine.wire import (
    PROTOCOL,
    encode,
    endpoint_for,
    info_from_wire,
    model_settings,
    recv_message,
    request_to_wire,
    stats_from_wire,
)
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

STOPPED = "the shared engine process stopped; a new one was started for the next completions"
# Loading a 7B model from a cold disk can take a while; the engine binds its socket once loaded.
START_TIMEOUT_S = 600.0
# How often a waiting request looks at its cancel token (the engine stops within one decode step).
_POLL_S = 0.005
_LOST: dict[str, Any] = {"op": "lost"}


def _connect(endpoint: Endpoint) -> tuple[socket.socket, dict[str, Any]]:
    """Connect and say hello; ConnectionRefusedError when no engine of ours is there, EngineError when
    the engine refuses us."""
    try:
        sock, published = dial(endpoint)
    except (OSError, ValueError):
        raise ConnectionRefusedError(f"no engine at {endpoint.path}") from None
    hello = {"op": "hello", "protocol": PROTOCOL, "version": __version__, "pid": os.getpid()}
    if published is not None:
        hello["token"] = published.token
    try:
        sock.sendall(encode(hello))
        welcome = recv_message(sock)
        sock.settimeout(None)
    except (OSError, ValueError):
        sock.close()
        raise ConnectionRefusedError(f"no engine at {endpoint.path}") from None
    if published is not None and not same_secret(welcome.get("answer"), published.answer):
        # Not the engine that wrote the file (it died, something else took its port): a stranger.
        sock.close()
        raise ConnectionRefusedError(f"no engine at {endpoint.path}")
    if welcome.get("op") != "welcome":
        sock.close()
        raise EngineError(str(welcome.get("message", "the shared engine refused the connection")))
    return sock, welcome


def _log_tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    mine = [line for line in lines if line.startswith("codellama-ls engine:")]
    return (mine or lines or [""])[-1].removeprefix("codellama-ls engine:").strip()


def _engine_env() -> dict[str, str]:
    """This environment, with this copy of codellama_ls importable from any folder."""
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parent.parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    return env


def connect_or_start(chosen: dict[str, Any], idle_s: int, endpoint: Endpoint) -> tuple[socket.socket, dict[str, Any]]:
    """Attach to the engine for these model settings, starting it first when none runs."""
    try:
        return _connect(endpoint)
    except ConnectionRefusedError:
        pass
    with exclusive(endpoint.lock):
        try:  # another server may have started it while we waited for the lock
            return _connect(endpoint)
        except ConnectionRefusedError:
            pass
        endpoint.path.unlink(missing_ok=True)  # a dead engine's socket or secrets
        log_path = endpoint.log
        command = [
            sys.executable,
            "-m",
            "codellama_ls.engine.service",
            "--socket",
            str(endpoint.path),
            "--transport",
            endpoint.transport,
            "--settings",
            json.dumps(chosen),
            "--idle-s",
            str(idle_s),
            "--log-level",
            logging.getLevelName(logging.getLogger("codellama_ls").getEffectiveLevel()).lower(),
        ]
        with open(log_path, "ab") as errors:
            os.chmod(log_path, 0o600)
            process = start_detached(command, errors, _engine_env())
        # Reap it if it exits while we live; after we exit, init does.
        threading.Thread(target=process.wait, name="engine-reaper", daemon=True).start()
        log.info("started the shared engine (pid %d) on %s", process.pid, endpoint.path)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                reason = _log_tail(log_path) or f"exit status {process.returncode}"
                raise EngineError(f"the shared engine could not start: {reason} (log: {log_path})")
            try:
                return _connect(endpoint)
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"the shared engine did not start in {START_TIMEOUT_S:.0f}s (log: {log_path})"
                    ) from None
                time.sleep(0.05)


class SharedEngine(GeneratesElsewhere, Generates):
    """The `Engine` contract over the socket; used from this server's engine thread only."""

    def __init__(self, settings: Settings, model: Path) -> None:
        from codellama_ls.engine.llama import LlamaVocab

        self._chosen = model_settings(settings, str(model))
        self._idle_s = settings.engine_idle_s
        self._endpoint = endpoint_for(self._chosen, choose_transport(settings.engine_transport))
        try:
            self._vocab = LlamaVocab(model)
        except EngineError as exc:
            # The file's content: the worker tries again once it changes (a copy still in progress).
            raise EngineError(str(exc), exc.path or str(model)) from exc
        self._ids = itertools.count(1)
        self._pending: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stats = GenerationStats()
        self._info: ModelInfo = self._vocab.info
        try:
            self._attach()
        except EngineError as exc:
            self._vocab.close()
            raise EngineError(str(exc), exc.path or str(model)) from exc
        except BaseException:
            self._vocab.close()
            raise

    def _attach(self) -> None:
        sock, welcome = connect_or_start(self._chosen, self._idle_s, self._endpoint)
        info = info_from_wire(welcome.get("info", {}))
        self.engine_pid = int(welcome.get("pid", 0))
        where = f"shared engine process {self.engine_pid} ({self._endpoint.path})"
        self._info = dataclasses.replace(info, where=where)
        self._sock = sock
        threading.Thread(target=self._read, args=(sock,), name="engine-reader", daemon=True).start()
        log.info("attached to the %s", where)

    def _read(self, sock: socket.socket) -> None:
        try:
            while True:
                message = recv_message(sock)
                with self._lock:
                    waiting = self._pending.get(int(message.get("id", -1)))
                if waiting is not None:
                    waiting.put(message)
        except (OSError, ValueError):
            pass
        with self._lock:
            if self._sock is sock:
                self._sock = None
            for waiting in self._pending.values():
                waiting.put(_LOST)
        with contextlib.suppress(OSError):
            sock.close()

    def _send(self, message: dict[str, Any]) -> bool:
        sock = self._sock
        if sock is None:
            return False
        try:
            sock.sendall(encode(message))
            return True
        except OSError:
            return False

    warms = True

    def _generate(self, request: GenerationRequest, stats: GenerationStats) -> Iterator[str]:
        """The engine process's pieces and figures (its times, not this side's: `Generates`)."""
        cancelled = request.cancelled
        if self._sock is None:
            self._attach()  # the engine died since the last request: a new one runs now
            raise EngineError(STOPPED)
        number = next(self._ids)
        answers: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._pending[number] = answers
        finished = False
        cancel_sent = False
        try:
            if not self._send(request_to_wire(number, request)):
                answers.put(_LOST)
            while True:
                if not cancel_sent and cancelled():
                    cancel_sent = self._send({"op": "cancel", "id": number}) or True
                try:
                    message = answers.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                op = message.get("op")
                if op == "piece":
                    if not cancel_sent:
                        yield str(message.get("text", ""))
                    continue
                finished = True
                if op == "done":
                    _fill(stats, stats_from_wire(message.get("stats", {})))
                    return
                if op == "lost":
                    with contextlib.suppress(EngineError):
                        self._attach()
                    raise EngineError(STOPPED)
                raise EngineError(str(message.get("message", "the shared engine failed")))
        finally:
            if not finished:
                # Stopped early (the stop rules are satisfied): cancel, and wait for the engine's
                # figures, which come within one decode step.
                if not cancel_sent:
                    self._send({"op": "cancel", "id": number})
                deadline = time.monotonic() + 1.0
                while time.monotonic() < deadline:
                    try:
                        message = answers.get(timeout=deadline - time.monotonic())
                    except queue.Empty:
                        break
                    if message.get("op") == "done":
                        _fill(stats, stats_from_wire(message.get("stats", {})))
                    if message.get("op") != "piece":
                        break
            with self._lock:
                self._pending.pop(number, None)

    branches = True

    def generate_alternatives(self, request: GenerationRequest) -> Iterator[PieceStream]:
        """The engine process's branches, one request: a branch closed before it ended is `skip`ped
        there; stopping before the last cancels the request."""
        if request.alternatives <= 1:
            yield self.generate(request)
            return
        if self._sock is None:
            self._attach()
            raise EngineError(STOPPED)
        number = next(self._ids)
        answers: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._pending[number] = answers
        reading = _Branches(self, number, answers, request.cancelled)
        try:
            if not self._send(request_to_wire(number, request)):
                answers.put(_LOST)
            for branch in itertools.count():
                stats = self._stats = GenerationStats(prompt_tokens=len(request.prompt))
                stream = PieceStream(reading.branch(branch, stats), stats)
                yield stream
                stream.close()
                if reading.finished:
                    return
        finally:
            if not reading.finished:
                if not reading.cancel_sent:
                    self._send({"op": "cancel", "id": number})
                reading.drain()
            with self._lock:
                self._pending.pop(number, None)

    def warm(self, body: list[int], key: str, cancelled: Cancelled) -> int:
        """Ask the engine process to warm `key`'s body (`LlamaEngine.warm`) while it is idle; not
        waited for: the process stops it when any request arrives."""
        if not cancelled():
            self._send({"op": "warm", "key": key, "body": body})
        return 0

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._vocab.close()


class _Branches:
    """The messages of one request for alternatives, read branch by branch."""

    def __init__(
        self, engine: SharedEngine, number: int, answers: queue.Queue[dict[str, Any]], cancelled: Cancelled
    ) -> None:
        self._engine = engine
        self._number = number
        self._answers = answers
        self._cancelled = cancelled
        self.finished = False
        self.cancel_sent = False

    def branch(self, branch: int, stats: GenerationStats) -> Generator[str, None, None]:
        ended = False
        try:
            while not self.finished:
                if not self.cancel_sent and self._cancelled():
                    self.cancel_sent = self._engine._send({"op": "cancel", "id": self._number}) or True
                try:
                    message = self._answers.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                op, number = message.get("op"), int(message.get("branch", 0))
                if op == "piece":
                    if number == branch and not self.cancel_sent:
                        yield str(message.get("text", ""))
                elif op == "ended":
                    if number == branch:
                        _fill(stats, stats_from_wire(message.get("stats", {})))
                        ended = True
                        return
                elif op == "done":
                    self.finished = True
                    if branch == 0:
                        _fill(stats, stats_from_wire(message.get("stats", {})))
                    ended = True
                    return
                elif op == "lost":
                    self.finished = True
                    with contextlib.suppress(EngineError):
                        self._engine._attach()
                    raise EngineError(STOPPED)
                else:
                    self.finished = True
                    raise EngineError(str(message.get("message", "the shared engine failed")))
            ended = True
        finally:
            if not ended and not self.finished:
                self._engine._send({"op": "skip", "id": self._number, "branch": branch})

    def drain(self) -> None:
        """After a cancel: wait (a decode step) for the engine to end the request."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                message = self._answers.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if message.get("op") not in ("piece", "ended"):
                break


def _fill(stats: GenerationStats, figures: GenerationStats) -> None:
    """The engine process's figures into the stream's own stats object."""
    for field in dataclasses.fields(GenerationStats):
        setattr(stats, field.name, getattr(figures, field.name))


def describe(settings: Settings, model: Path | None) -> str:
    """Where completions are computed, for `doctor`: this process, or which shared engine (`model` is
    the resolved model file, None when it is not known)."""
    if settings.engine != "shared":
        return "in the language server's own process (`engine = local`)"
    if model is None:
        return "in a shared engine process (which one depends on the model file, not found)"
    transport = choose_transport(settings.engine_transport)
    try:
        endpoint = endpoint_for(model_settings(settings, str(model)), transport)
    except EngineError as exc:
        return f"in a shared engine process ({exc})"
    where = f"{transport}: {endpoint.path}"
    try:
        sock, welcome = _connect(endpoint)
    except ConnectionRefusedError:
        return f"in a shared engine process, started by the first server that needs it ({where})"
    except EngineError as exc:
        return f"in a shared engine process that refuses this version: {exc}"
    sock.close()
    return f"in the shared engine process {welcome.get('pid')} ({where})"
