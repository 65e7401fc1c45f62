"""`doctor`'s line about which install is running, one row per kind of install."""

from __future__ import annotations

import json
import sys

import pytest

from codellama_ls.install import describe, detect

EDITABLE = json.dumps({"url": "file:///home/me/src/codellama-ls", "dir_info": {"editable": True}})
FROM_FOLDER = json.dumps({"url": "file:///home/me/src/codellama%20ls", "dir_info": {}})
FROM_INDEX = None  # pip writes no direct_url.json for a package from an index
FROM_VCS = json.dumps({"url": "https://example.invalid/codellama-ls.git", "vcs_info": {"vcs": "git"}})
USER_SITE = "/home/me/.local/lib/python3.11/site-packages"
PIPX = "/home/me/.local/share/pipx/venvs/codellama-ls"


@pytest.mark.parametrize(
    ("prefix", "base", "direct_url", "pipx", "package_dir", "expected"),
    [
        (PIPX, "/usr", FROM_INDEX, True, f"{PIPX}/lib/site-packages/codellama_ls", f"pipx (its environment {PIPX})"),
        (
            PIPX,
            "/usr",
            FROM_FOLDER,
            True,
            f"{PIPX}/lib/site-packages/codellama_ls",
            f"pipx (its environment {PIPX}), built from /home/me/src/codellama ls",
        ),
        (
            "/home/me/src/codellama-ls/.venv",
            "/usr",
            EDITABLE,
            False,
            "/home/me/src/codellama-ls/codellama_ls",
            "an editable checkout (/home/me/src/codellama-ls) in a virtual environment"
            " (/home/me/src/codellama-ls/.venv)",
        ),
        ("/opt/cls", "/usr", FROM_VCS, False, "/opt/cls/lib/codellama_ls", "a virtual environment (/opt/cls)"),
        (
            "/usr",
            "/usr",
            FROM_INDEX,
            False,
            f"{USER_SITE}/codellama_ls",
            f"the user's site-packages ({USER_SITE}, `pip install --user`)",
        ),
        (
            "/usr",
            "/usr",
            FROM_INDEX,
            False,
            "/usr/lib/python3/dist-packages/codellama_ls",
            "the system's Python (/usr)",
        ),
        ("/usr", "/usr", "not json", False, "/usr/lib/python3/codellama_ls", "the system's Python (/usr)"),
    ],
    ids=["pipx", "pipx-from-folder", "editable-venv", "venv", "user-site", "system", "bad-direct-url"],
)
def test_each_kind_of_install(
    prefix: str, base: str, direct_url: str | None, pipx: bool, package_dir: str, expected: str
) -> None:
    assert describe(prefix, base, direct_url, pipx, package_dir, USER_SITE) == expected


def test_this_test_run_is_an_install_in_a_virtual_environment() -> None:
    found = detect()
    if sys.prefix != sys.base_prefix:
        assert f"a virtual environment ({sys.prefix})" in found, found
