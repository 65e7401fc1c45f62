"""A real llama-server (llama.cpp's HTTP server) for tests and benchmarks.

The binary is the one `scripts/build-llama-server` builds from the llama.cpp vendored in the installed
llama-cpp-python (cached outside the checkout, keyed by version); `CODELLAMA_LS_LLAMA_SERVER` may name
another. Tests skip with the reason from `missing_reason()` when there is none: the build takes minutes,
so tests never start one.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-llama-server"


def binary_path() -> Path | None:
    override = os.environ.get("CODELLAMA_LS_LLAMA_SERVER")
    if override:
        return Path(override)
    try:
        version = importlib.metadata.version("llama_cpp_python")
    except importlib.metadata.PackageNotFoundError:
        return None
    # The same cache folder as scripts/build-llama-server.
    cache = os.environ.get("CODELLAMA_LS_BUILD_CACHE")
    if cache:
        folder = Path(cache)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "codellama-ls" / "llama-server" / version
    return folder / "llama-server"


def missing_reason() -> str:
    path = binary_path()
    if path is not None and os.access(path, os.X_OK):
        return ""
    return f"no llama-server binary at {path}; build it with `{BUILD_SCRIPT.relative_to(ROOT)} .venv/bin/python`"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """One llama-server process on 127.0.0.1 and a random free port; `restart` keeps the port."""

    def __init__(
        self,
        model: Path,
        *,
        slots: int = 1,
        n_ctx: int = 2048,
        api_key: str | None = None,
        threads: int = 1,
        extra: tuple[str, ...] = (),
        log: Path | None = None,
    ) -> None:
        self.model = model
        self.slots = slots
        self.n_ctx = n_ctx
        self.api_key = api_key
        self.threads = threads
        self.extra = extra
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = binary_path()
        assert binary is not None
        command = [
            str(binary),
            "--model",
            str(self.model),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--parallel",
            str(self.slots),
            # Each slot gets n_ctx tokens of its own.
            "--ctx-size",
            str(self.n_ctx * self.slots),
            "--threads",
            str(self.threads),
            "--n-gpu-layers",
            "0",
            *self.extra,
        ]
        if self.api_key:
            command += ["--api-key", self.api_key]
        return command

    def start(self, timeout: float = 60.0) -> LlamaServer:
        out = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        self.process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama-server exited with {self.process.returncode}: {' '.join(self.command())}")
            if self.healthy():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("llama-server did not become healthy in time")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def get(self, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> LlamaServer:
        self.stop()
        return self.start()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
