"""The shared engine process's protocol, in process with a scripted engine: streaming, cancel across
the socket, newest wins, version check, permissions."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.engine.base import Sampling
from codellama_ls.engine.scripted import BOS, OFFSET, ScriptedEngine
from codellama_ls.engine.service import serve
from codellama_ls.engine.wire import PROTOCOL, encode, recv_message, runtime_dir
from codellama_ls.models.presets import Progress
from codellama_ls.settings.config import Settings


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Short: a Unix socket's path has a limit of about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="cls-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield runtime_dir()


@pytest.fixture
def engine_socket(runtime: Path) -> Iterator[Path]:
    """A service over a slow scripted engine (10 ms a token) in a thread of this process."""
    path = runtime / "engine-test.sock"

    def factory(settings: Settings, progress: Progress) -> ScriptedEngine:
        return ScriptedEngine("0123456789" * 20, token_delay_s=0.01)

    thread = threading.Thread(target=asyncio.run, args=(serve(path, Settings(), 1.0, factory),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.01)
    yield path
    thread.join(timeout=10)
    assert not thread.is_alive(), "the service did not exit when idle"
    assert not path.exists(), "the service left its socket behind"


def attach(path: Path, protocol: int = PROTOCOL) -> tuple[socket.socket, dict[str, Any]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    sock.sendall(encode({"op": "hello", "protocol": protocol, "version": "test", "pid": os.getpid()}))
    return sock, recv_message(sock)


def generate(sock: socket.socket, number: int, key: str = "a.py", max_tokens: int = 200) -> None:
    sampling = Sampling(max_tokens=max_tokens).__dict__
    sock.sendall(
        encode({"op": "generate", "id": number, "key": key, "prompt": [BOS, OFFSET + ord("x")], "sampling": sampling})
    )


def until_done(sock: socket.socket, number: int) -> tuple[str, dict[str, Any]]:
    text = ""
    while True:
        message = recv_message(sock)
        if message.get("id") != number:
            continue
        if message["op"] == "piece":
            text += message["text"]
        else:
            return text, message


def test_pieces_stream_and_a_cancel_stops_the_generation(engine_socket: Path) -> None:
    sock, welcome = attach(engine_socket)
    with sock:
        assert welcome["op"] == "welcome" and welcome["pid"] == os.getpid()
        assert welcome["info"]["fim"] is not None
        generate(sock, 1, max_tokens=5)
        text, done = until_done(sock, 1)
        assert (text, done["op"], done["stats"]["stop_reason"]) == ("01234", "done", "max_tokens")

        generate(sock, 2)
        first = recv_message(sock)
        assert first["op"] == "piece"
        sock.sendall(encode({"op": "cancel", "id": 2}))
        text, done = until_done(sock, 2)
        assert done["stats"]["stop_reason"] == "cancelled"
        assert len(text) < 200 - 1


def test_newest_wins_per_client_and_document_but_not_across_clients(engine_socket: Path) -> None:
    first, _ = attach(engine_socket)
    second, _ = attach(engine_socket)
    with first, second:
        generate(first, 1)
        assert recv_message(first)["op"] == "piece"  # running
        generate(second, 1, max_tokens=3)  # another client, same document: queued, not cancelling
        generate(first, 2)  # newer for the same document: request 1 stops
        _, done = until_done(first, 1)
        assert done["stats"]["stop_reason"] == "cancelled"
        text, done = until_done(second, 1)
        assert (text, done["stats"]["stop_reason"]) == ("012", "max_tokens")
        first.sendall(encode({"op": "cancel", "id": 2}))
        _, done = until_done(first, 2)
        assert done["stats"]["stop_reason"] == "cancelled"


def test_a_client_that_vanishes_mid_generation_changes_nothing_for_the_others(engine_socket: Path) -> None:
    gone, _ = attach(engine_socket)
    other, _ = attach(engine_socket)
    generate(gone, 1)
    assert recv_message(gone)["op"] == "piece"
    gone.close()
    with other:
        generate(other, 1, max_tokens=4)
        text, done = until_done(other, 1)
        assert (text, done["op"]) == ("0123", "done")


def test_another_protocol_version_is_refused_with_a_clear_message(engine_socket: Path) -> None:
    sock, answer = attach(engine_socket, protocol=PROTOCOL + 1)
    sock.close()
    assert answer["op"] == "refused"
    assert f"protocol {PROTOCOL + 1}" in answer["message"] and "cannot serve" in answer["message"]


def test_only_this_user_can_open_the_socket(engine_socket: Path) -> None:
    assert stat.S_IMODE(engine_socket.stat().st_mode) == 0o600
    assert stat.S_IMODE(engine_socket.parent.stat().st_mode) == 0o700
    assert engine_socket.parent.stat().st_uid == os.getuid()
    if os.getuid() == 0:
        # Root can become another user: that user's connect is refused by the folder and the socket.
        child = os.fork()
        if child == 0:  # only system calls here: the parent has threads
            code = 2
            try:
                os.setgid(65534)
                os.setuid(65534)
                socket.socket(socket.AF_UNIX).connect(str(engine_socket))
                code = 1
            except PermissionError:
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, "another user could connect"


def test_the_runtime_folder_of_another_user_is_refused(runtime: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to make a folder owned by another user")
    os.chown(runtime, 65534, 65534)
    from codellama_ls.engine.base import EngineError

    with pytest.raises(EngineError, match="not a folder of this user"):
        runtime_dir()


def test_other_model_settings_or_a_rewritten_model_file_get_another_engine(runtime: Path, tmp_path: Path) -> None:
    import dataclasses

    from codellama_ls.engine.wire import model_settings, socket_path

    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF one")
    settings = Settings()
    first = socket_path(model_settings(settings, str(model)))
    assert first.parent == runtime and first == socket_path(model_settings(settings, str(model)))
    # Settings that do not shape the model share the engine; those that do get their own.
    assert socket_path(model_settings(dataclasses.replace(settings, engine_idle_s=5), str(model))) == first
    assert socket_path(model_settings(dataclasses.replace(settings, n_ctx=1024), str(model))) != first
    model.write_bytes(b"GGUF two, longer")
    assert socket_path(model_settings(settings, str(model))) != first


def test_a_client_that_stops_reading_is_dropped_not_buffered_without_end(monkeypatch: pytest.MonkeyPatch) -> None:
    from codellama_ls.engine import service

    monkeypatch.setattr(service, "SEND_BUFFER_LIMIT", 64 * 1024)

    async def scenario() -> tuple[bool, bool, int]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _, writer = await asyncio.open_unix_connection(sock=ours)
            client = service.Client(1, writer, pid=0)
            piece = {"op": "piece", "id": 1, "text": "x" * 4096}
            sent = 0
            # `theirs` never reads: first the kernel's socket buffer fills, then the transport's.
            while not client.gone and sent < 10_000:
                client.send(piece)
                sent += 1
            await asyncio.sleep(0)
            return client.gone, writer.transport.is_closing(), sent
        finally:
            theirs.close()

    gone, closing, sent = asyncio.run(scenario())
    assert gone and closing, "a client that never reads must be dropped"
    assert sent < 10_000


class WarmingEngine(ScriptedEngine):
    """Warms (as `LlamaEngine.warm` does) until told to stop."""

    warms = True

    def __init__(self) -> None:
        super().__init__("abc")
        self.warming = threading.Event()
        self.warmed: list[tuple[str, int, bool]] = []

    def warm(self, body: list[int], key: str, cancelled: Any) -> int:
        self.warming.set()
        deadline = time.monotonic() + 10
        while not cancelled() and time.monotonic() < deadline:
            time.sleep(0.001)
        self.warmed.append((key, len(body), bool(cancelled())))
        return 0


def test_warming_runs_while_idle_and_stops_for_any_request(runtime: Path) -> None:
    path = runtime / "engine-warm.sock"
    engine = WarmingEngine()
    thread = threading.Thread(
        target=asyncio.run, args=(serve(path, Settings(), 1.0, lambda settings, progress: engine),), daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.01)
    first, _ = attach(path)
    second, _ = attach(path)
    with first, second:
        first.sendall(encode({"op": "warm", "key": "a.py", "body": [BOS, 5, 6, 7]}))
        assert engine.warming.wait(10)
        generate(second, 1, key="b.py", max_tokens=3)  # another editor's request
        text, done = until_done(second, 1)
        assert (text, done["op"]) == ("abc", "done")
        assert engine.warmed == [("a.py", 4, True)]  # stopped for it, not run to its end
    thread.join(timeout=10)
