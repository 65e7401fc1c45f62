"""A raw-bytes client for the real server over stdio: for what a well-behaved client
library cannot send (broken frames, invalid params, messages after shutdown)."""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path
from typing import Any

_HEADER_END = re.compile(rb"\r\n\r\n")
_LENGTH = re.compile(rb"Content-Length: (\d+)")


def frame(message: Any = None, *, body: bytes | None = None, header: bytes | None = None) -> bytes:
    """A frame; `header` replaces the standard one (`%d` is the body's length)."""
    if body is None:
        body = json.dumps(message).encode()
    if header is None:
        header = b"Content-Length: %d\r\n\r\n"
    return (header % len(body) if b"%d" in header else header) + body


def request(msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}


def notification(method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


class RawServer:
    """The server process; what it writes on stdout is parsed strictly (it must be well-formed)."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log_path = log
        self._buffer = b""

    @classmethod
    async def start(cls, command: list[str], env: dict[str, str], cwd: Path | None = None) -> RawServer:
        log = Path(tempfile.mkstemp(prefix="codellama-ls-", suffix=".log")[1])
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
                cwd=cwd,
                limit=1 << 24,
            )
        return cls(process, log)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        await self.process.stdin.drain()

    async def message(self, timeout: float = 20.0) -> dict[str, Any]:
        """The next message the server sends."""
        assert self.process.stdout is not None
        while True:
            end = _HEADER_END.search(self._buffer)
            if end is not None:
                length = _LENGTH.search(self._buffer[: end.start()])
                assert length is not None, self._buffer[: end.end()]
                start, stop = end.end(), end.end() + int(length.group(1))
                if len(self._buffer) >= stop:
                    body, self._buffer = self._buffer[start:stop], self._buffer[stop:]
                    return json.loads(body)  # type: ignore[no-any-return]
            chunk = await asyncio.wait_for(self.process.stdout.read(65536), timeout)
            if not chunk:
                raise EOFError("the server closed its output")
            self._buffer += chunk

    async def response(self, timeout: float = 20.0) -> dict[str, Any]:
        """The next response (skipping the server's notifications and requests)."""
        while True:
            message = await self.message(timeout)
            if "method" not in message:
                return message

    async def call(self, msg_id: Any, method: str, params: Any = None) -> dict[str, Any]:
        await self.send(frame(request(msg_id, method, params)))
        reply = await self.response()
        assert reply.get("id") == msg_id, reply
        return reply

    async def initialize(self, encoding: str | None = None) -> dict[str, Any]:
        caps: dict[str, Any] = {}
        if encoding:
            caps["general"] = {"positionEncodings": [encoding]}
        reply = await self.call("init", "initialize", {"processId": None, "capabilities": caps})
        await self.send(frame(notification("initialized", {})))
        return reply

    async def wait_ready(self) -> None:
        for attempt in range(400):
            reply = await self.call(f"ready-{attempt}", "codellama/status")
            if reply["result"]["state"] in ("ready", "failed"):
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> int:
        """shutdown and exit when it still listens; the exit code."""
        try:
            if self.process.returncode is None and self.process.stdin is not None:
                await self.send(frame(request("bye", "shutdown")) + frame(notification("exit")))
                self.process.stdin.close()
            return await asyncio.wait_for(self.process.wait(), 20)
        except (OSError, asyncio.TimeoutError):
            self.process.kill()
            return await self.process.wait()
        finally:
            self.log_path.unlink(missing_ok=True)
