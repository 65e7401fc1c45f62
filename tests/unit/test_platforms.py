"""The Windows branches of the shared engine's system calls, run here with the platform faked."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.engine import platforms
from codellama_ls.engine.platforms import (
    CREATE_BREAKAWAY_FROM_JOB,
    CREATE_NEW_PROCESS_GROUP,
    DETACHED_PROCESS,
    detached,
    exclusive,
    private_base,
    start_detached,
)


def test_the_engine_starts_detached_on_each_system() -> None:
    assert detached("linux") == {"start_new_session": True, "cwd": "/"}
    assert detached("darwin") == {"start_new_session": True, "cwd": "/"}
    options = detached("win32", {"SystemDrive": "D:"})
    assert options == {
        "creationflags": DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_BREAKAWAY_FROM_JOB,
        "cwd": "D:\\",
    }
    assert "start_new_session" not in options  # not supported by Popen on Windows
    assert detached("win32", {})["cwd"] == "C:\\"


class FakePopen:
    def __init__(self, refuse_breakaway: bool) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse_breakaway = refuse_breakaway

    def __call__(self, command: list[str], **options: Any) -> str:
        self.calls.append(options)
        if self.refuse_breakaway and options.get("creationflags", 0) & CREATE_BREAKAWAY_FROM_JOB:
            raise PermissionError(5, "Access is denied")
        return "process"


@pytest.mark.parametrize("refuse", [False, True])
def test_windows_leaves_the_editors_job_when_it_may_and_starts_inside_it_otherwise(refuse: bool) -> None:
    popen = FakePopen(refuse)
    with open(os.devnull, "wb") as errors:
        assert start_detached(["python"], errors, {}, "win32", popen) == "process"
    flags = [call["creationflags"] for call in popen.calls]
    base = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
    assert flags == ([base | CREATE_BREAKAWAY_FROM_JOB, base] if refuse else [base | CREATE_BREAKAWAY_FROM_JOB])
    assert all(call["stdin"] is subprocess.DEVNULL and call["close_fds"] for call in popen.calls)


def test_posix_does_not_retry_a_refused_start() -> None:
    def popen(command: list[str], **options: Any) -> None:
        assert options["start_new_session"] is True
        raise PermissionError(13, "denied")

    with open(os.devnull, "wb") as errors, pytest.raises(PermissionError):
        start_detached(["python"], errors, {}, "linux", popen)


def test_a_real_detached_start_runs_in_its_own_session() -> None:
    with open(os.devnull, "wb") as errors:
        child = start_detached([sys.executable, "-c", "import time; time.sleep(30)"], errors, dict(os.environ))
    try:
        assert os.getsid(child.pid) == child.pid != os.getsid(0)
    finally:
        child.kill()
        child.wait()


def test_the_windows_folder_is_in_local_application_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert private_base("linux") is None
    assert private_base("win32", {"LOCALAPPDATA": "C:\\Users\\me\\AppData\\Local"}) == (
        Path("C:\\Users\\me\\AppData\\Local") / "codellama-ls" / "engine"
    )
    assert private_base("win32", {"USERPROFILE": str(tmp_path)}) == tmp_path / "AppData/Local/codellama-ls/engine"
    # And runtime_dir takes it without a uid (Windows has none).
    from codellama_ls.engine.wire import runtime_dir

    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path))
    monkeypatch.delattr(os, "getuid")
    folder = runtime_dir("win32")
    assert folder == tmp_path / "codellama-ls" / "engine" and folder.is_dir()


class FakeMsvcrt(types.ModuleType):
    """msvcrt.locking as Windows has it: a non-blocking lock raises OSError while another holds it."""

    LK_NBLCK = 2
    LK_UNLCK = 0

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.held_by: int | None = None
        self.calls: list[tuple[int, int]] = []
        self.guard = threading.Lock()

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        assert nbytes == 1
        assert os.lseek(fd, 0, os.SEEK_CUR) == 0, "locks the file's first byte"
        with self.guard:
            self.calls.append((fd, mode))
            if mode == self.LK_NBLCK:
                if self.held_by is not None:
                    raise OSError(36, "Resource deadlock avoided")
                self.held_by = fd
            elif mode == self.LK_UNLCK:
                assert self.held_by == fd, "unlocks only what it locked"
                self.held_by = None


def test_the_windows_lock_waits_for_its_holder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(platforms, "_LOCK_RETRY_S", 0.001)
    lock = tmp_path / "engine.lock"
    order: list[str] = []
    first_in = threading.Event()

    def second() -> None:
        first_in.wait(10)
        with exclusive(lock, "win32"):
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with exclusive(lock, "win32"):
        first_in.set()
        time.sleep(0.05)  # the second waits meanwhile, retrying
        order.append("first")
    thread.join(10)
    assert order == ["first", "second"]
    retries = [mode for _, mode in fake.calls if mode == FakeMsvcrt.LK_NBLCK]
    assert len(retries) > 2, "the waiting server tried again"
    assert fake.held_by is None, "every lock released"
    assert lock.exists()


def test_the_posix_lock_excludes_another_process(tmp_path: Path) -> None:
    lock = tmp_path / "engine.lock"
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]);"
        "from codellama_ls.engine.platforms import exclusive;"
        "from pathlib import Path\n"
        "with exclusive(Path(sys.argv[1])): print('in', flush=True); sys.stdin.readline()"
    )
    root = str(Path(__file__).resolve().parents[2])
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(lock), root], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline() == "in\n"
    taken = threading.Event()

    def take() -> None:
        with exclusive(lock):
            taken.set()

    thread = threading.Thread(target=take)
    thread.start()
    assert not taken.wait(0.3), "took a lock another process held"
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert taken.wait(30), "the lock was not handed over"
    thread.join(10)
    holder.wait(30)
