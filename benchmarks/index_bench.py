"""The workspace index on the installed Python's standard library: the first index, a changed file,
retrieval, memory, and what the loop's thread sees meanwhile (issue 22's limits).

Run from the repository root (about a minute on 2 cores):

    .venv/bin/python benchmarks/index_bench.py
    .venv/bin/python benchmarks/index_bench.py --folder ~/src/project --big 50000

Figures, each beside a baseline from the same run:
- the first index of the tree (files, definitions, seconds), beside reading every file and parsing it
  with tree-sitter alone (what any index must do at least);
- the peak memory the process grew by (RSS);
- a retrieval on the loop's thread every 20 ms while the index builds (does a request wait?), beside the
  same retrievals once it is built;
- one changed file re-indexed (`changed_on_disk` to indexed), p50 / max over copies of files of every
  size: notified with its text unchanged, after a first change, after a second one, wall-clock and
  CPU time (the CPU figure holds on a loaded machine), beside reading the changed file whole;
- retrieval p95 at call sites cut from the tree's files;
- with `--big N`: a generated tree of N small files, capped by `repository_max_files`.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import statistics
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codellama_ls.completion.snapshot import snapshot_of  # noqa: E402
from codellama_ls.documents.document import Document  # noqa: E402
from codellama_ls.documents.languages import LanguageSpec, language_for, new_parser  # noqa: E402
from codellama_ls.settings.config import Settings  # noqa: E402
from codellama_ls.workspace.context import filters_of  # noqa: E402
from codellama_ls.workspace.definitions import extract  # noqa: E402
from codellama_ls.workspace.files import list_files  # noqa: E402
from codellama_ls.workspace.index import WorkspaceIndex  # noqa: E402
from codellama_ls.workspace.retrieval import retrieve  # noqa: E402

_CALL = re.compile(r"\b[a-z_][a-z0-9_]{3,}\(")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def _call_sites(files: list[Path], count: int, rng: random.Random) -> list[tuple[Path, str, int]]:
    """(file, text, offset just after a call's open parenthesis)."""
    sites: list[tuple[Path, str, int]] = []
    for path in rng.sample(files, min(len(files), count * 3)):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        matches = list(_CALL.finditer(text))
        if matches:
            match = rng.choice(matches)
            sites.append((path, text, match.end()))
        if len(sites) >= count:
            break
    return sites


def _touch(text: str, n: int) -> str:
    """`text` with a comment added to a line in its middle: a real change that keeps its definitions."""
    lines = text.split("\n")
    at = len(lines) // 2
    lines[at] += f"  # changed {n}"
    return "\n".join(lines)


Timing = tuple[float, float]
"""Wall-clock and CPU milliseconds (the process's CPU: the index's thread does the work)."""


def _timed(work: Callable[[], object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def _reindex(index: WorkspaceIndex, chosen: list[Path]) -> tuple[dict[str, list[Timing]], str]:
    """Copies of `chosen` in a folder of the index, each notified as changed on disk three times: with
    its text unchanged, after a first change, after a second (from the notification to indexed); and,
    as the baseline, the first change's text read whole (what a change cost before `reparse.py`)."""
    timings: dict[str, list[Timing]] = {"unchanged": [], "first": [], "second": [], "whole": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp).resolve()
        copies = []
        for n, path in enumerate(chosen):
            copy = folder / f"{n}_{path.name}"
            copy.write_text(path.read_text(encoding="utf-8", errors="replace"), encoding="utf-8")
            copies.append(copy)
        index.add_folder(folder)
        index.wait_idle(120)
        for copy in copies:
            text = copy.read_text(encoding="utf-8")
            for n, what in enumerate(("unchanged", "first", "second")):
                if n:
                    copy.write_text(_touch(text, n), encoding="utf-8")

                def reindex(copy: Path = copy) -> None:
                    index.changed_on_disk(copy)
                    index.wait_idle(60)

                timings[what].append(_timed(reindex))
            spec = language_for("", str(copy))
            if spec is not None:

                def whole(spec: LanguageSpec = spec, path: str = str(copy), text: str = _touch(text, 1)) -> None:
                    extract(spec, path, text)

                timings["whole"].append(_timed(whole))
        index.remove_folder(folder)
        index.wait_idle(60)
    return timings, ", ".join(f"{p.stat().st_size // 1024} KB" for p in chosen)


def _ms(timings: list[Timing]) -> str:
    walls, cpus = [w for w, _ in timings], [c for _, c in timings]
    return f"{statistics.median(walls):.1f} / {max(walls):.1f} ms (CPU {statistics.median(cpus):.1f} / {max(cpus):.1f})"


def _baseline(files: list[Path]) -> float:
    """Read and parse every file, nothing else."""
    started = time.perf_counter()
    parsers: dict[str, object] = {}
    for path in files:
        spec = language_for("", str(path))
        if spec is None:
            continue
        parser = parsers.get(spec.name) or parsers.setdefault(spec.name, new_parser(spec))
        try:
            parser.parse(path.read_bytes())  # type: ignore[attr-defined]
        except OSError:
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--folder", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--sites", type=int, default=200, help="call sites for the retrieval figures")
    parser.add_argument("--big", type=int, default=0, help="also a generated tree of this many files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = args.folder.resolve()
    settings = Settings()
    filters = filters_of(settings)
    listed, _ = list_files(folder, filters)
    files = [path for path, _ in listed]
    print(f"{folder}: {len(files)} files to index")

    base_s = _baseline(files)
    sites = _call_sites(files, args.sites, rng)
    snapshots = []
    for path, text, offset in sites:
        snapshots.append(snapshot_of(Document(path.as_uri(), "python", 1, text), offset))

    rss_before = _rss_mb()
    index = WorkspaceIndex(filters)
    started = time.perf_counter()
    index.set_folders([folder])
    during: list[float] = []
    # The loop's thread: a retrieval every 20 ms while the index builds.
    i = 0
    while not index.idle() or time.perf_counter() - started < 0.1:
        snapshot = snapshots[i % len(snapshots)]
        t = time.perf_counter()
        retrieve(index, snapshot)
        during.append((time.perf_counter() - t) * 1000)
        i += 1
        time.sleep(0.02)
    index.wait_idle(600)
    first_s = time.perf_counter() - started
    grown = _rss_mb() - rss_before
    stats = index.stats

    after: list[float] = []
    found = 0
    for snapshot in snapshots:
        t = time.perf_counter()
        chunks = retrieve(index, snapshot)
        after.append((time.perf_counter() - t) * 1000)
        found += bool(chunks)

    by_size = sorted(files, key=lambda p: p.stat().st_size)
    changed = [by_size[int(q * (len(by_size) - 1))] for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)]
    reindexed, sizes = _reindex(index, changed)
    print("\n| figure | workspace index | baseline (same run) |")
    print("| --- | ---: | ---: |")
    print(f"| first index: files / definitions | {stats.files} / {stats.definitions} | — |")
    print(f"| first index: seconds | {first_s:.1f} s | {base_s:.1f} s (read + tree-sitter parse only) |")
    print(f"| memory grown (peak RSS) | {grown:.0f} MB | — |")
    print(
        f"| retrieval while indexing, p50 / p95 / max | {_pct(during, 0.5):.2f} / {_pct(during, 0.95):.2f} / "
        f"{max(during):.1f} ms ({len(during)} calls) | {_pct(after, 0.5):.2f} / {_pct(after, 0.95):.2f} / "
        f"{max(after):.1f} ms once built |"
    )
    print(f"| retrieval p95, {len(after)} call sites ({found} with context) | {_pct(after, 0.95):.2f} ms | — |")
    whole = _ms(reindexed["whole"]) + " to read the changed file whole"
    for what, key, baseline in (
        ("notified, text unchanged", "unchanged", "—"),
        ("its first change since the scan", "first", whole),
        ("a second change", "second", whole),
    ):
        print(f"| one file re-indexed, {what}, p50 / max ({sizes}) | {_ms(reindexed[key])} | {baseline} |")
    index.close()

    if args.big:
        with tempfile.TemporaryDirectory() as tmp:
            big = Path(tmp)
            for n in range(args.big):
                sub = big / f"d{n // 500}"
                sub.mkdir(exist_ok=True)
                (sub / f"m{n}.py").write_text(f"def f{n}(x):\n    return x + {n}\n")
            rss_before = _rss_mb()
            capped = WorkspaceIndex(filters)
            done = threading.Event()
            t = time.perf_counter()
            capped.set_folders([big])
            capped.wait_idle(600)
            done.set()
            print(
                f"| {args.big} generated files | {capped.stats.files} indexed (capped: {capped.stats.capped}) in "
                f"{time.perf_counter() - t:.1f} s, memory grew {_rss_mb() - rss_before:.0f} MB | — |"
            )
            capped.close()


if __name__ == "__main__":
    main()
