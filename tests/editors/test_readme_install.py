"""The editors' READMEs' install lines work as written on a fresh account (no ~/.local/bin yet)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "editors" / "nvim" / "README.md", ROOT / "editors" / "emacs" / "README.md"]


@pytest.mark.parametrize("readme", READMES, ids=[path.parent.name for path in READMES])
def test_the_link_line_works_without_a_local_bin_folder(tmp_path: Path, readme: Path) -> None:
    lines = [line.strip() for line in readme.read_text(encoding="utf-8").splitlines() if "ln -s" in line]
    assert lines, f"{readme} has no `ln -s` line"
    server = tmp_path / ".local" / "codellama-ls" / "bin" / "codellama-ls"
    server.parent.mkdir(parents=True)
    server.write_text("#!/bin/sh\n")
    env = {**os.environ, "HOME": str(tmp_path)}
    for line in lines:
        run = subprocess.run(["bash", "-ec", line], env=env, capture_output=True, text=True, timeout=30)
        assert run.returncode == 0, f"{line!r} failed: {run.stderr}"
        # Run twice, as a user following the README again after an upgrade would.
        again = subprocess.run(["bash", "-ec", line], env=env, capture_output=True, text=True, timeout=30)
        assert again.returncode == 0, f"{line!r} failed the second time: {again.stderr}"
    assert (tmp_path / ".local" / "bin" / "codellama-ls").resolve() == server
