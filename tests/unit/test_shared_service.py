"""The shared engine process's protocol, in process with a scripted engine: streaming, cancel across
the socket, newest wins, version check, permissions; over both transports (a Unix socket, and loopback
TCP with a token)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.engine.base import Sampling
from codellama_ls.engine.endpoint import Endpoint, Transport, dial, endpoint_in, read_secrets
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


@pytest.fixture(params=["unix", "tcp"])
def transport(request: pytest.FixtureRequest) -> Transport:
    return request.param  # type: ignore[no-any-return]


def start_service(endpoint: Endpoint, factory: Any) -> threading.Thread:
    thread = threading.Thread(target=asyncio.run, args=(serve(endpoint, Settings(), 1.0, factory),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not endpoint.path.exists():
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.01)
    return thread


@pytest.fixture
def engine_socket(runtime: Path, transport: Transport) -> Iterator[Endpoint]:
    """A service over a slow scripted engine (10 ms a token) in a thread of this process."""
    endpoint = endpoint_in(runtime, "engine-test", transport)

    def factory(settings: Settings, progress: Progress) -> ScriptedEngine:
        return ScriptedEngine("0123456789" * 20, token_delay_s=0.01)

    thread = start_service(endpoint, factory)
    yield endpoint
    thread.join(timeout=10)
    assert not thread.is_alive(), "the service did not exit when idle"
    assert not endpoint.path.exists(), "the service left its socket behind"


_OURS = object()


def attach(endpoint: Endpoint, protocol: int = PROTOCOL, token: Any = _OURS) -> tuple[socket.socket, dict[str, Any]]:
    """Connect and say hello, with the published token unless told another (None: no token at all)."""
    sock, published = dial(endpoint)
    hello = {"op": "hello", "protocol": protocol, "version": "test", "pid": os.getpid()}
    if token is _OURS and published is not None:
        token = published.token
    if token is not None and token is not _OURS:
        hello["token"] = token
    sock.sendall(encode(hello))
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


def test_pieces_stream_and_a_cancel_stops_the_generation(engine_socket: Endpoint) -> None:
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


def test_newest_wins_per_client_and_document_but_not_across_clients(engine_socket: Endpoint) -> None:
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


def test_a_client_that_vanishes_mid_generation_changes_nothing_for_the_others(engine_socket: Endpoint) -> None:
    gone, _ = attach(engine_socket)
    other, _ = attach(engine_socket)
    generate(gone, 1)
    assert recv_message(gone)["op"] == "piece"
    gone.close()
    with other:
        generate(other, 1, max_tokens=4)
        text, done = until_done(other, 1)
        assert (text, done["op"]) == ("0123", "done")


def test_another_protocol_version_is_refused_with_a_clear_message(engine_socket: Endpoint) -> None:
    sock, answer = attach(engine_socket, protocol=PROTOCOL + 1)
    sock.close()
    assert answer["op"] == "refused"
    assert f"protocol {PROTOCOL + 1}" in answer["message"] and "cannot serve" in answer["message"]


def test_only_this_user_can_open_the_socket(runtime: Path) -> None:
    endpoint = endpoint_in(runtime, "engine-unix", "unix")
    thread = start_service(endpoint, lambda settings, progress: ScriptedEngine("abc"))
    engine_socket = endpoint.path
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
    thread.join(timeout=10)


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


def test_warming_runs_while_idle_and_stops_for_any_request(runtime: Path, transport: Transport) -> None:
    endpoint = endpoint_in(runtime, "engine-warm", transport)
    engine = WarmingEngine()
    thread = start_service(endpoint, lambda settings, progress: engine)
    first, _ = attach(endpoint)
    second, _ = attach(endpoint)
    with first, second:
        first.sendall(encode({"op": "warm", "key": "a.py", "body": [BOS, 5, 6, 7]}))
        assert engine.warming.wait(10)
        generate(second, 1, key="b.py", max_tokens=3)  # another editor's request
        text, done = until_done(second, 1)
        assert (text, done["op"]) == ("abc", "done")
        assert engine.warmed == [("a.py", 4, True)]  # stopped for it, not run to its end
    thread.join(timeout=10)


# -- loopback TCP: the token, the port, other users ---------------------------------------------------


@pytest.fixture
def tcp_engine(runtime: Path) -> Iterator[Endpoint]:
    endpoint = endpoint_in(runtime, "engine-tcp", "tcp")
    thread = start_service(endpoint, lambda settings, progress: ScriptedEngine("0123456789"))
    yield endpoint
    thread.join(timeout=10)
    assert not endpoint.path.exists(), "the service left its token file behind"


@pytest.mark.parametrize(
    "token",
    [None, "", "0" * 64, 12345, ["x"], "é" * 64, "one character off"],
    ids=["missing", "empty", "zeros", "number", "list", "non-ascii", "off-by-one"],
)
def test_a_wrong_or_missing_token_is_refused_and_the_engine_serves_on(tcp_engine: Endpoint, token: Any) -> None:
    published = read_secrets(tcp_engine.path)
    if token == "one character off":
        token = published.token[:-1] + ("0" if published.token[-1] != "0" else "1")
    sock, answer = attach(tcp_engine, token=token)
    with sock:
        assert answer == {"op": "refused", "message": "the shared engine refused a wrong or missing token"}
        assert published.answer not in json.dumps(answer)
        assert sock.recv(1) == b"", "the engine must close a refused connection"
    good, welcome = attach(tcp_engine)
    with good:
        assert welcome["op"] == "welcome" and welcome["answer"] == published.answer
        generate(good, 1, max_tokens=3)
        assert until_done(good, 1)[0] == "012"


def test_a_stranger_that_sends_a_huge_or_no_hello_is_dropped(tcp_engine: Endpoint, monkeypatch: Any) -> None:
    published = read_secrets(tcp_engine.path)
    with socket.create_connection(("127.0.0.1", published.port), timeout=10) as sock:
        sock.sendall((1 << 30).to_bytes(4, "big"))  # a 1 GiB hello: not read, not allocated
        assert sock.recv(1) == b""
    good, welcome = attach(tcp_engine)
    good.close()
    assert welcome["op"] == "welcome"


def test_the_tcp_engine_listens_on_loopback_only_and_its_token_file_is_private(tcp_engine: Endpoint) -> None:
    assert stat.S_IMODE(tcp_engine.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(tcp_engine.path.parent.stat().st_mode) == 0o700
    published = read_secrets(tcp_engine.path)
    assert len(bytes.fromhex(published.token)) == 32 and published.token != published.answer
    if Path("/proc/net/tcp").exists():
        listening = [
            line.split()[1]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == published.port
        ]
        assert listening == [f"0100007F:{published.port:04X}"], listening
    if Path("/proc/net/tcp6").exists():
        assert f":{published.port:04X} " not in Path("/proc/net/tcp6").read_text()
    attach(tcp_engine)[0].close()


# Run as another user: cannot read the token file; without it, the engine refuses the connection.
_STRANGER = r"""
import json, socket, struct, sys
path, port = sys.argv[1], int(sys.argv[2])
try:
    open(path).read()
    read = "read"
except PermissionError:
    read = "denied"
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
body = json.dumps({"op": "hello", "protocol": 1, "version": "stranger", "pid": 0, "token": "guess"}).encode()
sock.sendall(struct.pack(">I", len(body)) + body)
size = struct.unpack(">I", sock.recv(4))[0]
print(json.dumps({"read": read, "answer": json.loads(sock.recv(size))}))
"""


def test_another_users_process_can_neither_read_the_token_nor_connect_over_tcp(tcp_engine: Endpoint) -> None:
    setpriv = shutil.which("setpriv")
    if os.getuid() != 0 or setpriv is None:
        # Without root the other user cannot be played: the file's and the folder's modes stand for it.
        assert stat.S_IMODE(tcp_engine.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(tcp_engine.path.parent.stat().st_mode) == 0o700
        pytest.skip("needs root and setpriv to run a process as another user")
    port = read_secrets(tcp_engine.path).port
    # The folder is 0700: the stranger gets as far as the file only if it can enter it (it cannot).
    result = subprocess.run(
        [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-I", "-c", _STRANGER]
        + [str(tcp_engine.path), str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["read"] == "denied"
    assert outcome["answer"]["op"] == "refused"


def test_a_client_never_talks_to_a_stranger_on_a_dead_engines_port(runtime: Path) -> None:
    from codellama_ls.engine.endpoint import Secrets, write_private
    from codellama_ls.engine.shared_client import _connect

    endpoint = endpoint_in(runtime, "engine-dead", "tcp")
    with pytest.raises(ConnectionRefusedError):
        _connect(endpoint)  # no file: no engine
    stranger = socket.socket()
    stranger.bind(("127.0.0.1", 0))
    stranger.listen(1)
    port = stranger.getsockname()[1]
    write_private(endpoint.path, json.dumps(Secrets(port, "a" * 64, "b" * 64, 1).__dict__))
    heard: list[dict[str, Any]] = []

    def impostor() -> None:
        conn, _ = stranger.accept()
        with conn:
            heard.append(recv_message(conn))
            conn.sendall(encode({"op": "welcome", "protocol": PROTOCOL, "pid": 1, "info": {}, "answer": "c" * 64}))
            heard.append({"after": conn.recv(1 << 16)})

    thread = threading.Thread(target=impostor, daemon=True)
    thread.start()
    with pytest.raises(ConnectionRefusedError):
        _connect(endpoint)
    thread.join(timeout=10)
    stranger.close()
    assert heard[0]["op"] == "hello" and heard[1] == {"after": b""}, "the client said more than its hello"
    # The port now closed: still no engine, and no exception but that one.
    with pytest.raises(ConnectionRefusedError):
        _connect(endpoint)
