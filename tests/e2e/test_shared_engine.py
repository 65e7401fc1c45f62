"""End to end: three language servers over stdio with `engine = shared` on one generated GGUF, over each
transport (the Unix socket, and loopback TCP with a token as on Windows)."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from tests.conftest import needs_llama
from tests.support.cursor import cursor
from tests.support.gguf_models import write_codellama_gguf
from tests.support.lsp_support import REAL_SERVER, inline, open_doc, server_env, start, status, wait_ready

pytestmark = needs_llama

SOURCE = "def add(a, b):\n    █\n\nprint(add(1, 2))\n"
# Wide enough that the weights (about 100 MB) dwarf what a server holds without them.
EMBEDDING = 768


@pytest.fixture
def runtime() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="cls-", dir="/tmp"))  # short: socket paths are limited
    yield folder
    for pid in engine_pids(folder):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def wide_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_codellama_gguf(tmp_path_factory.mktemp("wide") / "wide.gguf", embedding_length=EMBEDDING)


def engine_pids(runtime: Path) -> list[int]:
    """Live engine processes whose socket is under `runtime`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"codellama_ls.engine.service" in command and str(runtime).encode() in b" ".join(command):
            if state != "Z":
                found.append(int(entry.name))
    return found


def anon_kb(pid: int) -> int:
    """Private memory (the weights are read into it, not mapped)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def maps_file(pid: int, path: Path) -> bool:
    try:
        return str(path) in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def server_pid(client: LanguageClient) -> int:
    process = client._server  # pygls keeps the server's asyncio.subprocess.Process here
    assert process is not None
    return int(process.pid)


async def suggestion(client: LanguageClient, uri: str) -> list[str]:
    _, line, character = cursor(SOURCE)
    return [item.insert_text for item in (await inline(client, uri, line, character)).items]  # type: ignore[misc]


@pytest.mark.parametrize("transport", ["unix", "tcp"])
async def test_three_servers_share_one_engine_that_survives_clients_and_comes_back(
    wide_gguf: Path, runtime: Path, transport: str
) -> None:
    env = server_env(
        CODELLAMA_LS_MODEL=str(wide_gguf),
        CODELLAMA_LS_ENGINE="shared",
        CODELLAMA_LS_ENGINE_TRANSPORT=transport,
        CODELLAMA_LS_ENGINE_IDLE_S="2",
        XDG_RUNTIME_DIR=str(runtime),
    )
    # Started at once: the lock file makes them start one engine, not three.
    started = await asyncio.gather(*(start(REAL_SERVER, env) for _ in range(3)))
    clients = [client for client, _ in started]
    alive = list(clients)
    try:
        states = await asyncio.gather(*(wait_ready(client, timeout=120) for client in clients))
        assert all(state["state"] == "ready" for state in states), states
        engines = engine_pids(runtime)
        assert len(engines) == 1, engines
        (engine,) = engines
        assert all(f"shared engine process {engine}" in state["computed"] for state in states), states
        suffix = "-tcp.json" if transport == "tcp" else ".sock"
        assert all(state["computed"].endswith(f"{suffix})") for state in states), states

        text, _, _ = cursor(SOURCE)
        for n, client in enumerate(clients):
            open_doc(client, f"file:///tmp/editor{n}.py", text)
        for n, client in enumerate(clients):
            assert await suggestion(client, f"file:///tmp/editor{n}.py") == ["return x"]

        # Exactly one process holds the weights: the engine. The servers read the vocabulary only.
        weights_kb = wide_gguf.stat().st_size // 1024
        holders = [pid for pid in all_pids() if anon_kb_safe(pid) > weights_kb * 0.9]
        assert engine in holders
        servers = [server_pid(client) for client in clients]
        assert not set(servers) & set(holders), {pid: anon_kb_safe(pid) for pid in [engine, *servers]}
        assert not any(maps_file(pid, wide_gguf) for pid in servers)

        # `doctor` says where completions are computed.
        doctor = await asyncio.create_subprocess_exec(
            *REAL_SERVER, "doctor", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        out, _ = await doctor.communicate()
        said = f"completions computed: in the shared engine process {engine} ({transport}: "
        assert said in out.decode(), out.decode()
        # Decoding on every physical core by default, as llama-server (llama-cpp-python's own default
        # decodes on half the logical CPUs), shown by `doctor` and by the engine's status.
        from codellama_ls.engine.threads import choose_threads

        cores = choose_threads(0)[0]
        assert f"CPU threads: {cores} (physical cores)" in out.decode(), out.decode()
        state = await status(clients[0])
        assert (state["threads"], state["threads_reason"]) == (cores, "physical cores"), state

        # kill -9 one editor's server: the others keep answering.
        os.kill(servers[0], signal.SIGKILL)
        alive = clients[1:]
        for n, client in enumerate(clients[1:], start=1):
            assert await suggestion(client, f"file:///tmp/editor{n}.py") == ["return x"]
        assert engine_pids(runtime) == [engine]

        # The engine dies: the next request starts a new one and the user is told once.
        os.kill(engine, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while engine_pids(runtime) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        client = clients[1]
        assert await suggestion(client, "file:///tmp/editor1.py") == []
        assert await suggestion(client, "file:///tmp/editor1.py") == ["return x"]
        assert await suggestion(clients[2], "file:///tmp/editor2.py") in ([], ["return x"])
        assert await suggestion(clients[2], "file:///tmp/editor2.py") == ["return x"]
        restarted = engine_pids(runtime)
        assert len(restarted) == 1 and restarted != [engine]
        told = [m.message for m in client.messages if "shared engine process stopped" in m.message]
        assert len(told) == 1, [m.message for m in client.messages]
        assert await suggestion(client, "file:///tmp/editor1.py") == ["return x"]
        assert len([m for m in client.messages if "shared engine process stopped" in m.message]) == 1
    finally:
        for client in alive:
            await client.shutdown_session()
    # All editors gone: the engine exits after its idle time (2 s here).
    deadline = time.monotonic() + 60
    while engine_pids(runtime) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert engine_pids(runtime) == []
    assert not list((runtime / "codellama-ls").glob("*.sock")) + list((runtime / "codellama-ls").glob("*.json"))


def anon_kb_safe(pid: int) -> int:
    try:
        return anon_kb(pid)
    except OSError:
        return 0
