"""The Emacs integration (editors/emacs/codellama-ls.el) in a real Emacs, in batch mode.

Emacs runs tests/editors/emacs/test-codellama-ls.el, which opens a Python
file, starts Eglot with the real codellama-ls server and a generated model,
takes an inline suggestion and a completion-at-point candidate, exercises the
keys, and saves the file.  Needs Emacs 29 or later (Eglot is built in).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gguf_models import EOT_TEXT

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "editors" / "emacs" / "codellama-ls.el"
SCRIPT = ROOT / "tests" / "editors" / "emacs" / "test-codellama-ls.el"
EMACS = shutil.which("emacs")

# Every completion of this model is "urn x": the first token after the FIM
# prompt is "urn" (the default), then "▁x", then end of text.
TRANSITIONS = {"urn": "▁x", "▁x": EOT_TEXT}

SOURCE = "def smile():\n    \n\ndef wink():\n    \n"
EXPECTED = (
    "def smile():\n"
    '    x = "😀"; return x\n'  # inline suggestion, accepted with TAB
    "\n"
    "def wink():\n"
    '    y = "😉"; return x\n'  # completion-at-point
    "total = add(1, 2)\n"  # ghost text taken a word, a line, a word and the rest at a time
    "print(total)\n"
)


@functools.cache
def _emacs_version() -> tuple[int, int] | None:
    if EMACS is None:
        return None
    try:
        out = subprocess.run(
            [EMACS, "--batch", "-Q", "--eval", "(princ emacs-version)"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"(\d+)\.(\d+)", out.strip())
    return (int(match[1]), int(match[2])) if match else None


def _server_bin_dir(tmp_path: Path) -> Path:
    """The venv's bin dir if `codellama-ls` is there, else a folder with a wrapper."""
    bin_dir = Path(sys.executable).parent
    if (bin_dir / "codellama-ls").exists():
        return bin_dir
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "codellama-ls"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codellama_ls "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return wrapper_dir


# Eglot offers utf-32 first, which the server takes; offering only utf-16
# checks that Emacs characters are converted to UTF-16 columns (the emoji
# on the edited lines take two UTF-16 code units but one Emacs character).
@pytest.mark.parametrize("encoding", ["", "utf-16"], ids=["eglot-default", "utf-16"])
def test_emacs_inline_and_capf_with_the_real_server(tmp_path: Path, encoding: str) -> None:
    if EMACS is None:
        pytest.skip("emacs is not installed (Debian: apt-get install -t bookworm-backports emacs-nox)")
    version = _emacs_version()
    if version is None or version < (29, 0):
        pytest.skip(f"Emacs 29 or later is needed for built-in Eglot; {EMACS} is {version}")
    pytest.importorskip("llama_cpp", reason="llama-cpp-python cannot be imported")
    from tests.support.gguf_models import write_codellama_gguf

    model = write_codellama_gguf(tmp_path / "model.gguf", transitions=TRANSITIONS, default_next="urn")
    source = tmp_path / "project" / "smile.py"
    source.parent.mkdir()
    source.write_text(SOURCE, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()

    env = {k: v for k, v in os.environ.items() if not k.startswith("CODELLAMA_LS_")}
    env.update(
        PATH=str(_server_bin_dir(tmp_path)) + os.pathsep + env.get("PATH", ""),
        HOME=str(home),
        CODELLAMA_LS_MODEL=str(model),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-such-config.toml"),
        CODELLAMA_LS_TEST_FILE=str(source),
        CODELLAMA_LS_TEST_ENCODING=encoding,
        LANG="C.UTF-8",
    )
    command = [EMACS, "--batch", "-Q", "-l", str(PACKAGE), "-l", str(SCRIPT)]
    try:
        run = subprocess.run(command, cwd=source.parent, env=env, capture_output=True, timeout=150)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace")
        pytest.fail(f"Emacs did not finish in {exc.timeout} s; its output:\n{output}")
    output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    print(output)  # shown with -s, and by pytest when an assertion fails
    assert run.returncode == 0, f"Emacs exited with {run.returncode}; its output:\n{output}"
    assert source.read_text(encoding="utf-8") == EXPECTED, f"Emacs's output:\n{output}"


FAILURE_SCRIPT = ROOT / "tests" / "editors" / "emacs" / "test-failure.el"


def test_emacs_explains_an_empty_explicit_request_and_shows_the_log(tmp_path: Path) -> None:
    """C-c / when the model failed to load says why, once; M-x codellama-ls-show-log shows the server's stderr."""
    if EMACS is None:
        pytest.skip("emacs is not installed (Debian: apt-get install -t bookworm-backports emacs-nox)")
    version = _emacs_version()
    if version is None or version < (29, 0):
        pytest.skip(f"Emacs 29 or later is needed for built-in Eglot; {EMACS} is {version}")
    source = tmp_path / "project" / "smile.py"
    source.parent.mkdir()
    source.write_text("x = 1\n", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODELLAMA_LS_")}
    env.update(
        PATH=str(_server_bin_dir(tmp_path)) + os.pathsep + env.get("PATH", ""),
        HOME=str(home),
        CODELLAMA_LS_MODEL=str(tmp_path / "no-such-model.gguf"),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-such-config.toml"),
        CODELLAMA_LS_TEST_FILE=str(source),
        LANG="C.UTF-8",
    )
    command = [EMACS, "--batch", "-Q", "-l", str(PACKAGE), "-l", str(FAILURE_SCRIPT)]
    run = subprocess.run(command, cwd=source.parent, env=env, capture_output=True, timeout=150)
    output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "FAIL" not in output, output


ACTIONS_SCRIPT = ROOT / "tests" / "editors" / "emacs" / "test-actions.el"


def test_emacs_code_actions_through_eglot(tmp_path: Path) -> None:
    """eglot-code-actions runs the doc comment, edit by instruction (read-string) and explain."""
    import json

    from tests.editors.test_nvim_ui import CHAT_ANSWERS, CIRCLE

    if EMACS is None:
        pytest.skip("emacs is not installed (Debian: apt-get install -t bookworm-backports emacs-nox)")
    version = _emacs_version()
    if version is None or version < (30, 0):
        pytest.skip(f"the test drives Emacs 30's eglot-execute; {EMACS} is {version}")
    source = tmp_path / "project" / "circle.py"
    source.parent.mkdir()
    source.write_text(CIRCLE, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "SCRIPTED_"))}
    env.update(
        HOME=str(home),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-such-config.toml"),
        CODELLAMA_LS_TEST_FILE=str(source),
        CODELLAMA_LS_TEST_SERVER=json.dumps([sys.executable, str(ROOT / "tests" / "support" / "scripted_server.py")]),
        SCRIPTED_INSTRUCT="1",
        SCRIPTED_CHAT_ANSWERS=json.dumps(CHAT_ANSWERS),
        LANG="C.UTF-8",
    )
    command = [EMACS, "--batch", "-Q", "-l", str(PACKAGE), "-l", str(ACTIONS_SCRIPT)]
    run = subprocess.run(command, cwd=source.parent, env=env, capture_output=True, timeout=150)
    output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "FAIL" not in output, output
    assert source.read_text(encoding="utf-8") == CIRCLE.replace("self.r ** 2", "self.r * self.r"), output


UI_SCRIPT = ROOT / "tests" / "editors" / "emacs" / "test-ui.el"


def _scripted_env(tmp_path: Path, source: Path, **extra: str) -> dict[str, str]:
    import json

    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODELLAMA_LS_", "SCRIPTED_"))}
    env.update(
        HOME=str(home),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        CODELLAMA_LS_CONFIG=str(tmp_path / "no-such-config.toml"),
        CODELLAMA_LS_TEST_FILE=str(source),
        CODELLAMA_LS_TEST_SERVER=json.dumps([sys.executable, str(ROOT / "tests" / "support" / "scripted_server.py")]),
        LANG="C.UTF-8",
    )
    env.update(extra)
    return env


def _needs_emacs_30() -> None:
    if EMACS is None:
        pytest.skip("emacs is not installed (Debian: apt-get install -t bookworm-backports emacs-nox)")
    version = _emacs_version()
    if version is None or version < (30, 0):
        pytest.skip(f"the test drives Emacs 30's Eglot; {EMACS} is {version}")


def test_emacs_mode_line_and_ghost_text(tmp_path: Path) -> None:
    """The lighter says "Loading model"; no 100% or /error left on Eglot's mode line (a finished
    load, a cancelled request); a kept closer is not struck through; M-RET on the last line asks
    for the next suggestion."""
    _needs_emacs_30()
    source = tmp_path / "project" / "calls.py"
    source.parent.mkdir()
    source.write_text("x = f()\n", encoding="utf-8")
    env = _scripted_env(tmp_path, source, SCRIPTED_OUTPUT="a, b)", SCRIPTED_DELAY="0.05")
    command = [EMACS, "--batch", "-Q", "-l", str(PACKAGE), "-l", str(UI_SCRIPT)]
    run = subprocess.run(command, cwd=source.parent, env=env, capture_output=True, timeout=150)
    output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "FAIL" not in output, output


CANCEL_SCRIPT = ROOT / "tests" / "editors" / "emacs" / "test-action-cancel.el"
# About 4 s of generation at 0.05 s a character: long enough to see Emacs take input meanwhile.
SLOW_TESTS = "```python\ndef test_area():\n    assert Circle(1).area() == math.pi\n```"


def test_emacs_code_action_never_freezes_and_c_g_cancels_it(tmp_path: Path) -> None:
    """eglot-code-actions comes back at once while the model works; C-g and M-x codellama-ls-cancel
    stop the action and the buffer stays as it was; an action left alone lands."""
    import json

    from tests.editors.test_nvim_ui import CIRCLE

    _needs_emacs_30()
    source = tmp_path / "project" / "circle.py"
    source.parent.mkdir()
    source.write_text(CIRCLE, encoding="utf-8")
    env = _scripted_env(
        tmp_path,
        source,
        SCRIPTED_INSTRUCT="1",
        SCRIPTED_CHAT_ANSWERS=json.dumps({"unit tests": SLOW_TESTS}),
        SCRIPTED_DELAY="0.05",
    )
    command = [EMACS, "--batch", "-Q", "-l", str(PACKAGE), "-l", str(CANCEL_SCRIPT)]
    run = subprocess.run(command, cwd=source.parent, env=env, capture_output=True, timeout=150)
    output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "FAIL" not in output, output
    assert source.read_text(encoding="utf-8") == CIRCLE, "the script saves nothing"


REPOSITORY_SCRIPT = ROOT / "tests" / "editors" / "emacs" / "test-repository.el"


@pytest.mark.parametrize(
    ("enabled", "ghost"),
    [(True, "point, factor, origin)"), (False, ")")],
    ids=["repository-context", "repository-context-off"],
)
def test_emacs_a_call_into_a_file_that_is_not_open_gets_its_arguments(
    tmp_path: Path, enabled: bool, ghost: str
) -> None:
    """As in Neovim (test_nvim_ui.py): only main.py is visited; the scripted model answers a call
    with the parameters of the definition its prompt holds, else `)`."""
    from tests.editors.test_nvim_ui import MAIN, write_workspace

    _needs_emacs_30()
    assert EMACS is not None
    main = write_workspace(tmp_path / "project")
    env = _scripted_env(
        tmp_path,
        main,
        SCRIPTED_CALLS="1",
        CODELLAMA_LS_REPOSITORY_CONTEXT="true" if enabled else "false",
        CODELLAMA_LS_TEST_REPOSITORY="true" if enabled else "false",
        CODELLAMA_LS_TEST_EXPECTED=ghost,
    )
    command = [EMACS, "--batch", "-Q", "-l", str(PACKAGE), "-l", str(REPOSITORY_SCRIPT)]
    run = subprocess.run(command, cwd=main.parent, env=env, capture_output=True, timeout=150)
    output = run.stdout.decode(errors="replace") + run.stderr.decode(errors="replace")
    assert run.returncode == 0 and "FAIL" not in output, output
    assert main.read_text() == MAIN.replace("return \n", f"return scale_point({ghost}\n"), output
