"""The workspace index: every indexed file's definitions and imports, kept by one background thread.

Requests never wait on it: they read what is there under a lock held only for dict look-ups. The
thread scans folders, re-reads files saved or changed on disk and takes open documents' live text
(the newest text of a path wins; older queued versions are skipped). It reads only files inside the
workspace folders (`files.read_source`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from codellama_ls.documents.languages import LANGUAGES, LanguageSpec, language_for
from codellama_ls.workspace.definitions import Definition, FileFacts, extract, supported
from codellama_ls.workspace.files import Filters, inside, language_of, list_files, read_source
from codellama_ls.workspace.reparse import Trees, digest_of

log = logging.getLogger(__name__)

_FROM_DISK = None


@dataclass(frozen=True)
class IndexStats:
    folders: int = 0
    files: int = 0
    definitions: int = 0
    imports: int = 0
    seconds: float = 0.0
    """The last full scan's duration."""
    capped: bool = False
    """A folder had more files than the cap; the rest were left out."""
    scanning: bool = False


def known_languages() -> frozenset[str]:
    return frozenset(spec.name for spec in LANGUAGES if supported(spec))


class WorkspaceIndex:
    def __init__(self, filters: Filters | None = None, scan_delay_s: float = 0.0) -> None:
        self.filters = filters if filters is not None else Filters(known=known_languages())
        self._scan_after = time.monotonic() + scan_delay_s
        """Scans wait until then (the server's start: the model loads first); live texts do not."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._folders: list[Path] = []
        self._files: dict[str, FileFacts] = {}
        self._by_name: dict[str, dict[str, tuple[Definition, ...]]] = {}
        """A name -> the files defining it -> those definitions: a request's look-ups cost no scan."""
        self._by_file_name: dict[str, set[str]] = {}
        self._by_dir: dict[str, set[str]] = {}
        self._pending: dict[str, str | None] = {}
        """Path -> live text, or None to read it from disk (saved, changed on disk, closed)."""
        self._open: set[str] = set()
        self._scans: list[Path] = []
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._busy = False
        self._counts = [0, 0]
        """Definitions and imports held, kept as files come and go."""
        self.generation = 0
        """Bumped by every change: cached resolutions older than it are stale."""
        self.stats = IndexStats()
        self.trees = Trees()
        """The files changed since their scan keep their tree (the index's thread only)."""
        self.on_capped: Callable[[Path, int], None] | None = None

    # -- what the session tells it (event loop) --------------------------------------

    def set_folders(self, folders: Iterable[Path]) -> None:
        wanted = [f.resolve() for f in folders]
        with self._wake:
            gone = [f for f in self._folders if f not in wanted]
            added = [f for f in wanted if f not in self._folders]
            self._folders = wanted
            for folder in gone:
                self._forget_under(folder)
            self._scans += added
            self._wake.notify()
        self._start()

    def add_folder(self, folder: Path) -> None:
        self.set_folders([*self._folders, folder])

    def remove_folder(self, folder: Path) -> None:
        resolved = folder.resolve()
        self.set_folders([f for f in self._folders if f != resolved])

    def opened(self, path: Path, text: str) -> None:
        self._queue(path, text, opened=True)

    def edited(self, path: Path, text: str) -> None:
        if str(path) in self._open:
            self._queue(path, text)

    def closed(self, path: Path) -> None:
        self._open.discard(str(path))
        self._queue(path, _FROM_DISK)

    def changed_on_disk(self, path: Path) -> None:
        """Saved, created or changed under us (`git checkout`); an open document's live text wins."""
        if str(path) not in self._open:
            self._queue(path, _FROM_DISK)

    def deleted(self, path: Path) -> None:
        key = str(path)
        with self._wake:
            self._pending.pop(key, None)
            if key not in self._open:
                self._drop(key)
            # A folder deleted: everything under it.
            self._forget_under(path)

    def _queue(self, path: Path, text: str | None, opened: bool = False) -> None:
        if self._folder_of(path) is None:
            return  # only the workspace's files
        with self._wake:
            if opened:
                self._open.add(str(path))
            self._pending[str(path)] = text
            self._wake.notify()
        self._start()

    # -- reading (any thread) ---------------------------------------------------------

    def facts(self, path: str) -> FileFacts | None:
        with self._lock:
            return self._files.get(path)

    def named(self, name: str) -> list[tuple[str, Definition]]:
        """Every indexed definition called `name`, as (path, definition), by path."""
        with self._lock:
            held = self._by_name.get(name)
            found = [(p, d) for p, ds in held.items() for d in ds] if held else []
        return sorted(found, key=lambda item: (item[0], item[1].line))

    def named_count(self, name: str) -> int:
        """How many files define `name`."""
        with self._lock:
            return len(self._by_name.get(name, ()))

    def named_in(self, name: str, paths: Iterable[str]) -> list[tuple[str, Definition]]:
        """The definitions called `name` in these files only."""
        with self._lock:
            held = self._by_name.get(name) or {}
            return [(p, d) for p in paths for d in held.get(p, ())]

    def paths_named(self, file_name: str) -> list[str]:
        with self._lock:
            return list(self._by_file_name.get(file_name, ()))

    def exists(self, path: str) -> bool:
        with self._lock:
            return path in self._files

    def dirs_ending(self, suffix: str) -> list[str]:
        tail = "/" + suffix.strip("/")
        with self._lock:
            return sorted(d for d in self._by_dir if d.endswith(tail))

    def files_in(self, directory: str) -> list[str]:
        with self._lock:
            return sorted(self._by_dir.get(directory, ()))

    def folders(self) -> list[Path]:
        with self._lock:
            return list(self._folders)

    def all_facts(self) -> list[FileFacts]:
        with self._lock:
            return [self._files[p] for p in sorted(self._files)]

    def idle(self) -> bool:
        with self._lock:
            return not (self._pending or self._scans or self._busy)

    def wait_idle(self, timeout: float = 120.0) -> bool:
        """For the command line and tests: block until everything queued is indexed."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._pending or self._scans or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._wake.wait(min(left, 0.05))
        return True

    # -- the thread ---------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None and not self._stopped:
            self._thread = threading.Thread(target=self._run, name="codellama-ls index", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not (self._pending or self._stopped or (self._scans and time.monotonic() >= self._scan_after)):
                    self._busy = bool(self._scans)
                    self._wake.notify_all()
                    self._wake.wait(max(self._scan_after - time.monotonic(), 0.01) if self._scans else None)
                if self._stopped:
                    return
                self._busy = True
                scan = self._scans.pop(0) if self._scans and not self._pending else None
            try:
                if scan is not None:
                    self._scan(scan)
                else:
                    self._drain_pending()
            except Exception:  # the index must never take the server down
                log.exception("indexing failed")

    def _drain_pending(self) -> None:
        with self._lock:
            items = list(self._pending.items())
            self._pending.clear()
        for key, text in items:
            self._index_file(Path(key), text, changed=True)

    def _scan(self, folder: Path) -> None:
        started = time.perf_counter()
        listed, capped = list_files(folder, self.filters)
        if capped:
            log.warning(
                "workspace folder %s has more than %d files to index; the rest are left out",
                folder,
                self.filters.max_files,
            )
            if self.on_capped is not None:
                self.on_capped(folder, self.filters.max_files)
        for path, spec in listed:
            with self._lock:
                if self._stopped or folder not in self._folders:
                    return
                pending = bool(self._pending)
                known = str(path) in self._files
            if pending:
                self._drain_pending()  # an edit or a save goes before the rest of a scan
            if not known:
                self._index_file(path, _FROM_DISK, spec)
            time.sleep(0)  # let the event loop's thread have the interpreter between files
        with self._lock:
            self.stats = replace(
                self.stats, seconds=round(time.perf_counter() - started, 3), capped=capped or self.stats.capped
            )
            self._refresh_stats()

    def _folder_of(self, path: Path) -> Path | None:
        for folder in self._folders:
            if inside(folder, path):
                return folder
        return None

    def _index_file(
        self, path: Path, text: str | None, spec: LanguageSpec | None = None, changed: bool = False
    ) -> None:
        """Index one file's text (None: read it from disk): only what changed since it was indexed where
        its outline allows; a `changed` one keeps its tree in `trees`."""
        folder = self._folder_of(path)
        key = str(path)
        if folder is None:
            return
        relative = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.name
        spec = spec or language_of(relative, self.filters) or (language_for("", key) if text is not None else None)
        if spec is None or not supported(spec):
            return
        if text is None:
            text = read_source(folder, path)
            if text is None:
                with self._lock:
                    if key not in self._open:
                        self._drop(key)
                return
        with self._lock:
            held = self._files.get(key)
        if held is not None and held.digest == digest_of(text) and held.language == spec.name:
            return  # saved as it was indexed, or touched on disk (a checkout that left it alone)
        facts = extract(spec, key, text, self.trees if changed else None, held)
        with self._lock:
            if key in self._pending:
                return  # a newer version is queued
            self._drop(key)
            self._files[key] = facts
            self._counts[0] += len(facts.definitions)
            self._counts[1] += len(facts.imports)
            grouped: dict[str, list[Definition]] = {}
            for definition in facts.definitions:
                grouped.setdefault(definition.name, []).append(definition)
            for name, definitions in grouped.items():
                self._by_name.setdefault(name, {})[key] = tuple(definitions)
            self._by_file_name.setdefault(path.name, set()).add(key)
            self._by_dir.setdefault(str(path.parent), set()).add(key)
            self.generation += 1
            self._refresh_stats()

    # -- under the lock -------------------------------------------------------------

    def _drop(self, key: str) -> None:
        old = self._files.pop(key, None)
        if old is None:
            return
        self._counts[0] -= len(old.definitions)
        self._counts[1] -= len(old.imports)
        for definition in old.definitions:
            paths = self._by_name.get(definition.name)
            if paths is not None:
                paths.pop(key, None)
                if not paths:
                    del self._by_name[definition.name]
        directory, _, name = key.rpartition("/")
        for table, entry in ((self._by_file_name, name), (self._by_dir, directory)):
            held = table.get(entry)
            if held is not None:
                held.discard(key)
                if not held:
                    del table[entry]
        self.generation += 1
        self._refresh_stats()

    def _forget_under(self, folder: Path) -> None:
        prefix = str(folder).rstrip("/") + "/"
        for key in [k for k in self._files if k.startswith(prefix)]:
            if key not in self._open:
                self._drop(key)

    def _refresh_stats(self) -> None:
        self.stats = replace(
            self.stats,
            folders=len(self._folders),
            files=len(self._files),
            definitions=self._counts[0],
            imports=self._counts[1],
            scanning=bool(self._scans),
        )
