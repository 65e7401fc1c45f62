"""How many CPU threads llama.cpp computes with when the `n_threads` setting is 0.

llama-cpp-python's own default decodes on half the logical CPUs (one thread on a 2-core machine),
which made each decode step of a 1.3B model twice as slow as on both cores (benchmarks/README.md).
llama-server's default is the number of physical cores; so is ours. On a GPU with every layer
offloaded the CPU threads only feed the GPU, and the count changes nothing measurable.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

_SYSFS = Path("/sys/devices/system/cpu")


def _read_sysfs(cpu: int) -> str | None:
    try:
        return (_SYSFS / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text().strip()
    except OSError:
        return None


def physical_cores_linux(cpus: Iterable[int], siblings_of: Callable[[int], str | None] = _read_sysfs) -> int | None:
    """Cores among the CPUs this process may run on: CPUs that are hyper-thread siblings count once.
    None when the topology cannot be read (some containers hide /sys)."""
    cores: set[str] = set()
    for cpu in cpus:
        siblings = siblings_of(cpu)
        if siblings is None:
            return None
        cores.add(siblings)
    return len(cores) or None


def _macos_performance_cores() -> int | None:
    # Apple Silicon: the efficiency cores slow a decode step that waits for its slowest thread.
    for key in ("hw.perflevel0.physicalcpu", "hw.physicalcpu"):
        try:
            out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=2, check=False)
            if out.returncode == 0 and out.stdout.strip().isdigit():
                return int(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def _logical_cpus() -> list[int]:
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        try:
            return sorted(affinity(0))
        except OSError:
            pass
    return list(range(os.cpu_count() or 1))


def fallback_threads(logical: int) -> int:
    """Without a topology: up to 4 logical CPUs are taken as cores, more as two threads a core."""
    return max(1, logical if logical <= 4 else logical // 2)


def default_threads() -> int:
    """Threads for decoding and prompt batches when the setting is 0: the physical cores this
    process may use."""
    cpus = _logical_cpus()
    found: int | None = None
    system = platform.system()
    if system == "Linux":
        found = physical_cores_linux(cpus)
    elif system == "Darwin":
        found = _macos_performance_cores()
    if found is None:
        return fallback_threads(len(cpus))
    return max(1, min(found, len(cpus)))


def choose_threads(setting: int) -> tuple[int, str]:
    """The thread count for an `n_threads` setting, and why (for `doctor` and `codellama/status`)."""
    if setting > 0:
        return setting, "the n_threads setting"
    return default_threads(), "physical cores"
