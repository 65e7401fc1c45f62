"""The Emacs install instructions (editors/emacs/README.md), run in a real Emacs from a local clone.

Each README block is the init file of a fresh `HOME`, with `/path/to/codellama-ls` made a `git clone`
of this checkout: `package-vc-install` (and `use-package :vc`, Emacs 30) clone it, byte-compile and
write the autoloads; a second Emacs then starts from that init file and checks what it got.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "editors" / "emacs" / "README.md"
CHECK = ROOT / "tests" / "editors" / "emacs" / "install-check.el"
EMACS = shutil.which("emacs")

pytestmark = pytest.mark.skipif(
    EMACS is None, reason="emacs is not installed (Debian: apt-get install -t bookworm-backports emacs-nox)"
)


# Before the init file runs: package.el's autoloads alone define the commands.
AUTOLOADED = """(unless (autoloadp (symbol-function 'codellama-ls-mode))
  (error "FAIL: codellama-ls-mode is not autoloaded before first use"))"""


def readme_block(name: str) -> str:
    match = re.search(rf"<!-- install: {re.escape(name)} -->\n```elisp\n(.*?)```", README.read_text(), re.DOTALL)
    assert match, f"editors/emacs/README.md has no `<!-- install: {name} -->` elisp block"
    return match[1]


def emacs_version() -> tuple[int, int]:
    assert EMACS is not None
    out = subprocess.run([EMACS, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.match(r"GNU Emacs (\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2])) if match else (0, 0)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("src") / "codellama-ls"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True, timeout=120)
    return target


@pytest.mark.parametrize("block", ["package-vc", "use-package"])
def test_the_readme_install_from_a_local_clone(tmp_path: Path, clone: Path, block: str) -> None:
    assert EMACS is not None
    if emacs_version() < ((30, 1) if block == "use-package" else (29, 1)):
        pytest.skip(f"{block} installs from a repository from Emacs {'30' if block == 'use-package' else '29'} on")
    home = tmp_path / "home"
    init = home / ".emacs.d" / "init.el"
    init.parent.mkdir(parents=True)
    elpa = home / ".emacs.d" / "elpa"
    # No package archive: everything comes from the clone (nothing is fetched).
    init.write_text(
        ";;; init.el -*- lexical-binding: t; -*-\n(setq package-archives nil)\n"
        + readme_block(block).replace("/path/to/codellama-ls", str(clone))
    )
    env = {**os.environ, "HOME": str(home), "CODELLAMA_EMACS_ELPA": str(elpa)}
    env.pop("EMACSLOADPATH", None)
    for step in ("install", "check"):
        # `--batch` skips the init file; `-l` loads it as a user's Emacs would at startup.
        args = [EMACS, "--batch", "--eval", "(package-initialize)"]
        if step == "check":
            args += ["--eval", AUTOLOADED, "-l", str(init), "-l", str(CHECK)]
        else:
            args += ["-l", str(init)]
        run = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
        assert run.returncode == 0, f"{step}: {run.stderr[-4000:]}"
    assert "PASS" in run.stderr, run.stderr[-4000:]
    assert (elpa / "codellama-ls" / "editors" / "emacs" / "codellama-ls.elc").exists()
    assert "VC package" not in run.stderr, "installed again on the second start"
