"""The repository context the session holds: the index of its workspace folders, fed from the
editor's events, and the retrieval each completion request asks of it (event loop; the index's own
work runs on its thread)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from codellama_ls.completion.crossfile import Chunk
from codellama_ls.completion.snapshot import Snapshot
from codellama_ls.documents.uris import uri_path
from codellama_ls.settings.config import Settings
from codellama_ls.workspace.files import Filters
from codellama_ls.workspace.index import WorkspaceIndex, known_languages
from codellama_ls.workspace.retrieval import retrieve

log = logging.getLogger(__name__)

# The server's first scan waits this long: the model loads first, and a short session (a test, a
# one-off edit) costs no index.
SCAN_DELAY_S = 2.0


def path_of(uri: str) -> Path | None:
    """The local path of a `file:` URI; None for any other scheme (nothing to read on disk)."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or not parts.path:
        return None
    return Path(unquote(parts.path))


def _globs(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


def filters_of(settings: Settings) -> Filters:
    return Filters(
        include=_globs(settings.repository_include),
        exclude=_globs(settings.repository_exclude),
        max_files=settings.repository_max_files,
        known=known_languages(),
    )


def workspace_root(path: Path) -> Path:
    """The folder a file's repository context comes from, without an editor: its git work tree,
    else its own folder."""
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def index_folder(folder: Path, settings: Settings, timeout: float = 600.0) -> WorkspaceIndex:
    """One folder indexed now, for the command line (the server indexes in the background)."""
    index = WorkspaceIndex(filters_of(settings))
    index.set_folders([folder])
    index.wait_idle(timeout)
    return index


class RepositoryContext:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.repository_context
        self.index = WorkspaceIndex(filters_of(settings), SCAN_DELAY_S)
        self._folders: list[Path] = []
        self._live: dict[str, str] = {}
        """Open documents edited since the index last had their text (queued when another asks)."""

    def apply(self, settings: Settings) -> None:
        filters = filters_of(settings)
        enabled = settings.repository_context
        if filters != self.index.filters or enabled != self.enabled:
            # Other files to index: built again from scratch, in the background.
            self.index.close()
            self.index = WorkspaceIndex(filters, SCAN_DELAY_S)
            self.enabled = enabled
            if enabled:
                self.index.set_folders(self._folders)

    def set_folders(self, uris: Iterable[str]) -> None:
        folders = [p for p in (path_of(uri) for uri in uris) if p is not None and p.is_dir()]
        self._folders = list(dict.fromkeys(folders))
        if self.enabled:
            self.index.set_folders(self._folders)

    def folders_changed(self, added: Iterable[str], removed: Iterable[str]) -> None:
        gone = {p for p in (path_of(uri) for uri in removed) if p is not None}
        new = [p for p in (path_of(uri) for uri in added) if p is not None and p.is_dir()]
        self.set_folders([f.as_uri() for f in [*(f for f in self._folders if f not in gone), *new]])

    def relative_path(self, uri: str) -> str:
        """A document's path as prompts name it: relative to the workspace folder holding it, else
        its file name (nothing of the user's home directory goes into a prompt needlessly)."""
        path = path_of(uri)
        if path is None:
            return uri_path(uri).rsplit("/", 1)[-1] or uri
        for folder in self._folders:
            if path.is_relative_to(folder):
                return path.relative_to(folder).as_posix()
        return path.name

    # -- documents and files ----------------------------------------------------------

    def opened(self, uri: str, text: str) -> None:
        path = path_of(uri)
        if path is not None and self.enabled:
            self.index.opened(path, text)

    def edited(self, uri: str, text: str) -> None:
        # Not parsed at each keystroke: only when another document's request may need it.
        if self.enabled and path_of(uri) is not None:
            self._live[uri] = text

    def saved_or_closed(self, uri: str, text: str | None = None) -> None:
        path = path_of(uri)
        self._live.pop(uri, None)
        if path is None or not self.enabled:
            return
        if text is not None:
            self.index.opened(path, text)
        else:
            self.index.closed(path)

    def files_changed(self, changes: Iterable[tuple[str, bool]]) -> None:
        """`workspace/didChangeWatchedFiles`: (uri, deleted) pairs."""
        if not self.enabled:
            return
        for uri, deleted in changes:
            path = path_of(uri)
            if path is None:
                continue
            if deleted:
                self.index.deleted(path)
            else:
                self.index.changed_on_disk(path)

    # -- requests -------------------------------------------------------------------

    def retrieve(self, snapshot: Snapshot) -> tuple[Chunk, ...]:
        if not self.enabled or not self._folders:
            return ()
        for uri, text in list(self._live.items()):
            if uri != snapshot.uri:
                path = path_of(uri)
                if path is not None:
                    self.index.edited(path, text)
                del self._live[uri]
        try:
            return retrieve(self.index, snapshot)
        except Exception:  # a request never fails for its context
            log.exception("repository context failed")
            return ()

    def status(self) -> dict[str, object]:
        stats = self.index.stats
        return {
            "enabled": self.enabled,
            "folders": [str(f) for f in self._folders],
            "files": stats.files,
            "definitions": stats.definitions,
            "scan_seconds": stats.seconds,
            "capped": stats.capped,
        }

    def close(self) -> None:
        self.index.close()
