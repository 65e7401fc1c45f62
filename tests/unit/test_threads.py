"""The default thread count: physical cores, as llama-server (engine/threads.py)."""

from __future__ import annotations

import pytest

from codellama_ls.engine.threads import choose_threads, fallback_threads, physical_cores_linux

# (siblings of each CPU as sysfs writes them, the CPUs the process may use, cores expected)
TOPOLOGIES = [
    ({0: "0", 1: "1"}, [0, 1], 2),  # two cores, no SMT (this machine's kind)
    ({0: "0,4", 1: "1,5", 2: "2,6", 3: "3,7", 4: "0,4", 5: "1,5", 6: "2,6", 7: "3,7"}, range(8), 4),
    ({0: "0-1", 1: "0-1", 2: "2-3", 3: "2-3"}, [0, 1, 2, 3], 2),
    ({0: "0-1", 1: "0-1", 2: "2-3", 3: "2-3"}, [0, 2], 2),  # an affinity mask of one thread per core
    ({0: "0-1", 1: "0-1", 2: "2-3", 3: "2-3"}, [0, 1], 1),  # taskset to one core's two threads
]


@pytest.mark.parametrize(("siblings", "cpus", "cores"), TOPOLOGIES)
def test_hyperthread_siblings_count_once(siblings: dict[int, str], cpus: list[int], cores: int) -> None:
    assert physical_cores_linux(cpus, siblings.get) == cores


def test_an_unreadable_topology_is_not_guessed_from_sysfs() -> None:
    assert physical_cores_linux([0, 1], lambda cpu: None) is None


@pytest.mark.parametrize(("logical", "threads"), [(1, 1), (2, 2), (4, 4), (8, 4), (16, 8)])
def test_without_a_topology_more_than_four_cpus_are_taken_as_two_threads_a_core(logical: int, threads: int) -> None:
    assert fallback_threads(logical) == threads


def test_the_setting_wins_and_zero_means_the_cores() -> None:
    assert choose_threads(3) == (3, "the n_threads setting")
    threads, reason = choose_threads(0)
    assert threads >= 1 and reason == "physical cores"
