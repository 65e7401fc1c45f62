"""codellama-ls.el as a package: checkdoc, package-lint, the byte compiler, autoloads, and no load-time effects."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "editors" / "emacs" / "codellama-ls.el"
LINT = ROOT / "tests" / "editors" / "emacs" / "lint.el"
LOAD = ROOT / "tests" / "editors" / "emacs" / "load.el"
EMACS = shutil.which("emacs")

pytestmark = pytest.mark.skipif(
    EMACS is None, reason="emacs is not installed (Debian: apt-get install -t bookworm-backports emacs-nox)"
)


def _emacs(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    assert EMACS is not None
    return subprocess.run(
        [EMACS, "--batch", "-Q", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def _package_lint_dir() -> str | None:
    """Debian's elpa-package-lint; MELPA itself cannot be reached from CI."""
    found = sorted(glob.glob("/usr/share/emacs/site-lisp/elpa/package-lint-*"))
    return found[-1] if found else None


def test_checkdoc_and_byte_compile_are_clean() -> None:
    run = _emacs(["-l", str(LINT), str(PACKAGE)], {"LINT_SKIP_PACKAGE_LINT": "1"})
    assert run.returncode == 0 and "0 problem(s)" in run.stderr, run.stderr


def test_package_lint_is_clean() -> None:
    lint_dir = _package_lint_dir()
    if lint_dir is None:
        pytest.skip("package-lint is not installed (Debian: apt-get install -t bookworm-backports elpa-package-lint)")
    run = _emacs(["-L", lint_dir, "-l", str(LINT), str(PACKAGE)])
    assert "package-lint: ran" in run.stderr, run.stderr
    assert run.returncode == 0 and "0 problem(s)" in run.stderr, run.stderr


def test_loading_changes_nothing_and_commands_are_autoloaded(tmp_path: Path) -> None:
    # A copy, so that generating autoloads writes nothing into the checkout.
    shutil.copy(PACKAGE, tmp_path)
    run = _emacs(["-l", str(LOAD), str(tmp_path)])
    assert run.returncode == 0 and "FAIL" not in run.stderr, run.stderr
