"""Other files' chunks as a repository, for the families trained on repository-level prompts (pure)."""

from __future__ import annotations

from codellama_ls.completion.crossfile import Chunk
from codellama_ls.completion.repo_context import repository
from codellama_ls.prompts.fim import Repo


def chunk(uri: str, first: int, text: str) -> Chunk:
    return Chunk(uri, first, text, 1.0)


def test_paths_relative_to_the_shared_folder_which_names_the_repository() -> None:
    chunks = (
        chunk("file:///home/u/library-system/library.py", 0, "class Book:"),
        chunk("file:///home/u/library-system/lib/student.py", 10, "class Student:"),
    )
    repo = repository("file:///home/u/library-system/main.py", chunks)
    assert repo == Repo(
        "library-system", (("library.py", "class Book:"), ("lib/student.py", "class Student:")), "main.py"
    )


def test_chunks_of_one_file_go_under_one_path_in_their_order() -> None:
    chunks = (
        chunk("file:///w/p/a.py", 0, "def a():"),
        chunk("file:///w/p/a.py", 40, "def b():"),
        chunk("file:///w/p/b.py", 0, "x = 1"),
    )
    repo = repository("file:///w/p/c.py", chunks)
    assert repo.files == (("a.py", "def a():\n\ndef b():"), ("b.py", "x = 1"))
    assert (repo.name, repo.current) == ("p", "c.py")


def test_percent_escapes_are_decoded_and_a_root_file_still_has_a_name() -> None:
    repo = repository("file:///my%20dir/main.py", (chunk("file:///other/x.py", 0, "x"),))
    assert repo.name == "project"
    assert repo.current == "my dir/main.py" and repo.files == (("other/x.py", "x"),)
