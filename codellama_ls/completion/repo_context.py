"""Other files' chunks as a repository for the families trained on repository-level prompts (pure).

Qwen2.5-Coder and StarCoder2 saw whole repositories in training: a repository name, then file after
file, each after a file-separator token and its path, the file being completed last. The chunks
`crossfile` chose become those files, path by path relative to the folder the files share, which
also names the repository.
"""

from __future__ import annotations

from collections.abc import Sequence

from codellama_ls.completion.crossfile import Chunk
from codellama_ls.documents.uris import uri_path
from codellama_ls.prompts.fim import Repo

_UNNAMED = "project"


def _shared_folder(paths: Sequence[str]) -> list[str]:
    folders = [path.split("/")[:-1] for path in paths]
    shared: list[str] = []
    for parts in zip(*folders, strict=False):
        if any(part != parts[0] for part in parts):
            break
        shared.append(parts[0])
    return shared


def repository(current_uri: str, chunks: Sequence[Chunk]) -> Repo:
    """The chunks grouped by file in their (stable) order, the current file's path last."""
    current = uri_path(current_uri)
    by_file: dict[str, list[str]] = {}
    for chunk in chunks:
        by_file.setdefault(uri_path(chunk.uri), []).append(chunk.text)
    root = _shared_folder([current, *by_file])
    name = next((part for part in reversed(root) if part and not part.endswith(":")), _UNNAMED)  # not `c:`

    def relative(path: str) -> str:
        return "/".join(path.split("/")[len(root) :]) or path

    files = tuple((relative(path), "\n\n".join(texts)) for path, texts in by_file.items())
    return Repo(name, files, relative(current))
