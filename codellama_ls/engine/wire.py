"""What the shared engine and its clients agree on: where the endpoint is, and how a message is framed.

A message is a JSON object preceded by its length (4 bytes, big-endian). The client speaks first
(`hello` with `PROTOCOL`, and over TCP the token, `endpoint.py`); the engine answers `welcome` or
`refused`. Then the client sends `generate` and `cancel`; the engine streams `piece`s and ends each
request with `done` or `error`.
A `generate` with `alternatives` above 1 gets each branch's pieces marked with its `branch` number
and each branch ended by `ended` with its stats; the client sends `skip` for a branch it is done with.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

import platformdirs

from codellama_ls import __version__
from codellama_ls.engine.base import (
    NEVER_ENDS,
    Cancelled,
    EngineError,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    Sampling,
    TextEnd,
)
from codellama_ls.engine.endpoint import Endpoint, Transport, endpoint_in
from codellama_ls.engine.platforms import private_base
from codellama_ls.prompts.fim import FimTokens
from codellama_ls.settings.config import APP_NAME, Settings

PROTOCOL = 2
_HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024 * 1024
# Settings that do not change which model the engine process runs.
_NOT_MODEL = frozenset(
    {"engine", "engine_idle_s", "engine_transport", "engine_url", "engine_api_key_env", "engine_model"}
    | {"engine_timeout_ms", "model", "model_dir", "auto_download"}
)


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def length_of(header: bytes) -> int:
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"a message of {size} bytes")
    return int(size)


HEADER_SIZE = _HEADER.size


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the engine closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_message(sock: socket.socket) -> dict[str, Any]:
    message = json.loads(recv_exactly(sock, length_of(recv_exactly(sock, HEADER_SIZE))))
    if not isinstance(message, dict):
        raise ValueError("a message that is not an object")
    return message


def runtime_dir(platform: str = sys.platform) -> Path:
    """A folder only this user can enter: $XDG_RUNTIME_DIR (or platformdirs') when it exists, else one
    under the temporary folder; refused when someone else owns it or others can enter it. On Windows,
    one in the user's local application data (`platforms.private_base`)."""
    private = private_base(platform)
    if private is not None:
        try:
            private.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EngineError(f"cannot create the shared engine's folder {private}: {exc}") from exc
        return private
    base = os.environ.get("XDG_RUNTIME_DIR") or platformdirs.user_runtime_dir()
    parent = Path(base) if base and os.path.isdir(base) else Path(tempfile.gettempdir())
    folder = parent / (APP_NAME if parent != Path(tempfile.gettempdir()) else f"{APP_NAME}-{os.getuid()}")
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError as exc:
        raise EngineError(f"cannot create the shared engine's folder {folder}: {exc}") from exc
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise EngineError(f"{folder} is not a folder of this user; remove it or set XDG_RUNTIME_DIR")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(folder, 0o700)
    return folder


def model_settings(settings: Settings, model_path: str) -> dict[str, Any]:
    """The settings the engine process runs with: the reload fields that shape the loaded model."""
    chosen = {name: getattr(settings, name) for name in Settings.reload_fields() if name not in _NOT_MODEL}
    chosen["model"] = os.path.realpath(model_path)
    return chosen


def _file_identity(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return []
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]


def engine_name(chosen: dict[str, Any]) -> str:
    """One engine per version, model settings and model file: other settings, or the file replaced or
    written over, get another engine process (the old one exits once its servers have moved on)."""
    identity = [PROTOCOL, __version__, chosen, _file_identity(str(chosen.get("model", "")))]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    return f"engine-{digest}"


def endpoint_for(chosen: dict[str, Any], transport: Transport, folder: Path | None = None) -> Endpoint:
    return endpoint_in(folder or runtime_dir(), engine_name(chosen), transport)


def socket_path(chosen: dict[str, Any], folder: Path | None = None) -> Path:
    return endpoint_for(chosen, "unix", folder).path


def info_to_wire(info: ModelInfo) -> dict[str, Any]:
    data = dataclasses.asdict(info)
    data["end_tokens"] = sorted(info.end_tokens)
    return data


def info_from_wire(data: dict[str, Any]) -> ModelInfo:
    values = dict(data)
    fim = values.get("fim")
    values["fim"] = FimTokens(**fim) if isinstance(fim, dict) else None
    values["end_tokens"] = frozenset(values.get("end_tokens", ()))
    known = {f.name for f in dataclasses.fields(ModelInfo)}
    return ModelInfo(**{k: v for k, v in values.items() if k in known})


def stats_from_wire(data: dict[str, Any]) -> GenerationStats:
    known = {f.name for f in dataclasses.fields(GenerationStats)}
    return GenerationStats(**{k: v for k, v in data.items() if k in known})


def request_to_wire(number: int, request: GenerationRequest) -> dict[str, Any]:
    """A `generate` message: the request, all but its cancel check (a `cancel` message instead)."""
    return {
        "op": "generate",
        "id": number,
        "key": request.key,
        "prompt": request.prompt,
        "sampling": dataclasses.asdict(request.sampling),
        "constraint": request.constraint,
        "alternatives": request.alternatives,
        "end": dataclasses.asdict(request.end),
        "share": request.alternatives_share,
    }


def request_from_wire(message: dict[str, Any], cancelled: Cancelled) -> GenerationRequest:
    return GenerationRequest(
        prompt=[int(t) for t in message["prompt"]],
        sampling=Sampling(**message.get("sampling", {})),
        cancelled=cancelled,
        constraint=str(message.get("constraint", "")),
        key=str(message.get("key", "")),
        alternatives=max(int(message.get("alternatives", 1)), 1),
        end=_text_end(message.get("end")),
        alternatives_share=_share(message.get("share")),
    )


def _share(data: object) -> float:
    """A request's alternatives' share; none (an older client's) or a broken one is the default."""
    if isinstance(data, (int, float)) and not isinstance(data, bool) and data >= 0:
        return float(data)
    return GenerationRequest.alternatives_share


def _text_end(data: object) -> TextEnd:
    """A request's `end`; none (an older client's request) is no rule."""
    if not isinstance(data, dict):
        return NEVER_ENDS
    return TextEnd(
        line=bool(data.get("line", False)),
        below=bool(data.get("below", False)),
        block=bool(data.get("block", False)),
        lines=int(data.get("lines", 0)),
        base_indent=str(data.get("base_indent", "")),
    )
