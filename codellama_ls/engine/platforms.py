"""What the shared engine does differently on Windows: one small function per difference.

Each takes the platform (`sys.platform` by default) so that the Windows branch runs in the tests on
Linux, with `msvcrt` or `subprocess.Popen` faked where only Windows has the real one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

# Windows' process creation flags (subprocess defines them on Windows only).
DETACHED_PROCESS = 0x00000008
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_BREAKAWAY_FROM_JOB = 0x01000000
# How often a waiting server tries the Windows lock again (msvcrt has no blocking lock without a limit).
_LOCK_RETRY_S = 0.05


def windows(platform: str) -> bool:
    return platform == "win32"


def private_base(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> Path | None:
    """Where the per-user folder goes on Windows: local application data, private to its user by its
    ACL (there is no runtime folder, and no uid to check). None elsewhere: `wire.runtime_dir` decides."""
    if not windows(platform):
        return None
    local = env.get("LOCALAPPDATA") or str(Path(env.get("USERPROFILE") or Path.home()) / "AppData" / "Local")
    return Path(local) / "codellama-ls" / "engine"


@contextlib.contextmanager
def exclusive(path: Path, platform: str = sys.platform) -> Iterator[None]:
    """Hold the lock file at `path` (waiting for it); the system drops it if this process dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if windows(platform):
            import msvcrt

            while True:
                try:
                    msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined,unused-ignore]
                    break
                except OSError:  # another server holds it
                    time.sleep(_LOCK_RETRY_S)
            try:
                yield
            finally:
                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined,unused-ignore]
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor closes
            yield
    finally:
        os.close(fd)


def detached(platform: str = sys.platform, env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """`subprocess.Popen` arguments that let the engine outlive the server (and the editor) that
    starts it, holding no project folder open."""
    if windows(platform):
        # Out of the editor's job object too (VS Code's allows it), else closing VS Code kills it.
        return {
            "creationflags": DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_BREAKAWAY_FROM_JOB,
            "cwd": env.get("SystemDrive", "C:") + "\\",
        }
    return {"start_new_session": True, "cwd": "/"}  # not in the editor's process group


def start_detached(
    command: Sequence[str],
    stderr: IO[bytes],
    env: dict[str, str],
    platform: str = sys.platform,
    popen: Any = subprocess.Popen,
) -> subprocess.Popen[bytes]:
    options = detached(platform, env)
    common: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": stderr,
        "close_fds": True,
        "env": env,
    }
    try:
        return popen(list(command), **common, **options)
    except PermissionError:
        if not windows(platform):
            raise
        # A job that forbids breaking away: started inside it, the engine lives as long as the editor.
        options["creationflags"] &= ~CREATE_BREAKAWAY_FROM_JOB
        return popen(list(command), **common, **options)
