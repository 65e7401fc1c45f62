"""Where the shared engine listens and how a client reaches it: a Unix socket, or loopback TCP with a token.

`unix`: a socket file, mode 0600 in the user's 0700 runtime folder; the engine also refuses peers of
another uid. `tcp` (Windows, or chosen by `engine_transport`): the engine binds 127.0.0.1 on a port the
system picks, then writes `{port, token, answer, pid}` to a 0600 file in that same folder. A client sends
`token` in its hello, the engine compares it in constant time and refuses anything else; the engine's
welcome carries `answer`, so a client never sends prompts to whoever took the port of a dead engine.
Both secrets are fresh for every engine process: one that leaks with a stale file opens nothing.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Transport = Literal["unix", "tcp"]
LOOPBACK = "127.0.0.1"
# A live engine welcomes at once; this only bounds a stranger that took a dead engine's port.
HANDSHAKE_TIMEOUT_S = 30.0


def choose_transport(setting: str, platform: str = sys.platform) -> Transport:
    """`engine_transport` to a transport: `auto` is TCP where Python has no Unix sockets (Windows)."""
    if setting in ("unix", "tcp"):
        return setting  # type: ignore[return-value]
    return "tcp" if platform == "win32" else "unix"


@dataclass(frozen=True)
class Endpoint:
    transport: Transport
    path: Path
    """The socket (`unix`), or the file naming the port and the token (`tcp`)."""

    @property
    def lock(self) -> Path:
        return self.path.with_suffix(".lock")

    @property
    def log(self) -> Path:
        return self.path.with_suffix(".log")


def endpoint_in(folder: Path, name: str, transport: Transport) -> Endpoint:
    if transport == "tcp":
        return Endpoint("tcp", folder / f"{name}-tcp.json")
    return Endpoint("unix", folder / f"{name}.sock")


@dataclass(frozen=True)
class Secrets:
    """What a TCP engine writes for its user's clients."""

    port: int
    token: str
    answer: str
    pid: int

    @staticmethod
    def fresh(port: int) -> Secrets:
        return Secrets(port, secrets.token_hex(32), secrets.token_hex(32), os.getpid())


def same_secret(given: Any, expected: str) -> bool:
    """Constant time; anything but a string of the same text (absent, a number, a list) is refused."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by this user only from its first byte, replacing it at once."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(partial, path)


def read_secrets(path: Path) -> Secrets:
    """The file a TCP engine wrote; OSError or ValueError when it is absent, unreadable or malformed."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not an object")
    port, token, answer, pid = data.get("port"), data.get("token"), data.get("answer"), data.get("pid", 0)
    if not (isinstance(port, int) and 0 < port < 65536 and isinstance(token, str) and isinstance(answer, str)):
        raise ValueError("not an engine's endpoint file")
    return Secrets(port, token, answer, int(pid))


def listen(endpoint: Endpoint) -> tuple[socket.socket, Secrets | None]:
    """The engine's listening socket, and for TCP the secrets it has published (after binding)."""
    if endpoint.transport == "unix":
        return _bind_unix(endpoint.path), None
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    sock.listen(64)
    published = Secrets.fresh(sock.getsockname()[1])
    write_private(endpoint.path, json.dumps(published.__dict__))
    return sock, published


def _bind_unix(path: Path) -> socket.socket:
    """Listen at `path`, created 0600 (the umask covers the moment between bind and chmod)."""
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # type: ignore[attr-defined,unused-ignore]
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock


def still_ours(endpoint: Endpoint, identity: int | Secrets | None) -> bool:
    """Whether the file at the endpoint is still this engine's (not a successor's), at exit."""
    try:
        if isinstance(identity, Secrets):
            return read_secrets(endpoint.path).token == identity.token
        return os.stat(endpoint.path).st_ino == identity
    except (OSError, ValueError):
        return False


def identity_of(endpoint: Endpoint, published: Secrets | None) -> int | Secrets | None:
    return published if published is not None else os.stat(endpoint.path).st_ino


def release(endpoint: Endpoint, identity: int | Secrets | None) -> None:
    with contextlib.suppress(OSError):
        if still_ours(endpoint, identity):
            endpoint.path.unlink()


def dial(endpoint: Endpoint) -> tuple[socket.socket, Secrets | None]:
    """A connected socket (and for TCP the secrets to prove ourselves with); OSError or ValueError when
    no engine is there."""
    if endpoint.transport == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # type: ignore[attr-defined,unused-ignore]
        try:
            sock.connect(str(endpoint.path))
        except OSError:
            sock.close()
            raise
        return sock, None
    published = read_secrets(endpoint.path)
    sock = socket.create_connection((LOOPBACK, published.port), timeout=HANDSHAKE_TIMEOUT_S)
    return sock, published
