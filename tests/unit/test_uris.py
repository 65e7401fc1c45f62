"""A document URI's path, as each editor on each system sends it."""

from __future__ import annotations

import pytest

from codellama_ls.completion.crossfile import _label
from codellama_ls.documents.languages import language_for
from codellama_ls.documents.uris import uri_path

ROWS = [
    # VS Code on Windows: the drive lower-cased, its colon escaped.
    ("file:///c%3A/Users/me/proj/a.py", "c:/Users/me/proj/a.py"),
    ("file:///c%3A/Users/me/My%20Project/b%C3%A9.rs", "c:/Users/me/My Project/bé.rs"),
    # Neovim and Emacs on Windows.
    ("file:///C:/Users/me/proj/a.py", "C:/Users/me/proj/a.py"),
    ("file:///D:", "D:/"),
    # A share (UNC path \\server\share\...), and the same escaped as VS Code does.
    ("file://server/share/proj/a.py", "//server/share/proj/a.py"),
    ("file://fileserver.local/c%24/proj/a.go", "//fileserver.local/c$/proj/a.go"),
    # POSIX, and the host that means this machine.
    ("file:///home/me/proj/a.py", "/home/me/proj/a.py"),
    ("file://localhost/home/me/a.py", "/home/me/a.py"),
    ("file:/home/me/a.py", "/home/me/a.py"),
    # Not a file URI: a bare path, a Windows path as a client might send it, an untitled buffer.
    ("/tmp/a.py", "/tmp/a.py"),
    ("C:\\Users\\me\\a.py", "C:/Users/me/a.py"),
    ("untitled:Untitled-1", "untitled:Untitled-1"),
]


@pytest.mark.parametrize(("uri", "path"), ROWS)
def test_the_path_of_each_uri(uri: str, path: str) -> None:
    assert uri_path(uri) == path


@pytest.mark.parametrize(
    ("uri", "label", "language"),
    [
        ("file:///c%3A/Users/me/proj/a.py", "a.py", "python"),
        ("file://server/share/proj/main.RS", "main.RS", "rust"),
        ("file:///C:/x/y.ts", "y.ts", "typescript"),
    ],
)
def test_windows_uris_name_their_file_and_language(uri: str, label: str, language: str) -> None:
    assert _label(uri) == label
    spec = language_for("", uri)
    assert spec is not None and spec.name == language


def test_a_repository_of_windows_files_is_named_by_their_shared_folder() -> None:
    from codellama_ls.completion.crossfile import Chunk
    from codellama_ls.completion.repo_context import repository

    chunks = [Chunk("file:///c%3A/work/proj/lib/util.py", 0, "def f(): pass", 1.0)]
    repo = repository("file:///c%3A/work/proj/main.py", chunks)
    assert (repo.name, repo.current) == ("proj", "main.py")
    assert [path for path, _ in repo.files] == ["lib/util.py"]
    # Files that share only their drive: no repository name made of a drive letter.
    repo = repository("file:///c%3A/a.py", [Chunk("file:///c%3A/lib/b.py", 0, "x = 1", 1.0)])
    assert (repo.name, repo.current, repo.files[0][0]) == ("project", "a.py", "lib/b.py")
