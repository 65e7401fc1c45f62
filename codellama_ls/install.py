"""Which install of codellama-ls is running, for `doctor`: pipx, a virtual environment, the user's or
the system's site-packages, and whether it is an editable checkout.

`describe` is pure (what it is given: the prefixes, the distribution's PEP 610 `direct_url.json`,
whether pipx's metadata file is there); `detect` gathers those from this process.
"""

from __future__ import annotations

import json
import os
import site
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

DISTRIBUTION = "codellama-ls"


def _checkout(direct_url: str | None) -> tuple[str, bool] | None:
    """The folder it was installed from and whether editable, when installed from a local folder."""
    try:
        data = json.loads(direct_url) if direct_url else None
    except ValueError:
        return None
    if not isinstance(data, dict) or "dir_info" not in data or not str(data.get("url", "")).startswith("file:"):
        return None
    folder = unquote(urlsplit(str(data["url"])).path)
    dir_info = data["dir_info"] if isinstance(data["dir_info"], dict) else {}
    return folder, bool(dir_info.get("editable"))


def describe(
    prefix: str,
    base_prefix: str,
    direct_url: str | None,
    pipx: bool,
    package_dir: str,
    user_site: str | None,
) -> str:
    if pipx:
        kind = f"pipx (its environment {prefix})"
    elif prefix != base_prefix:
        kind = f"a virtual environment ({prefix})"
    elif user_site and package_dir.startswith(user_site.rstrip(os.sep) + os.sep):
        kind = f"the user's site-packages ({user_site}, `pip install --user`)"
    else:
        kind = f"the system's Python ({prefix})"
    source = _checkout(direct_url)
    if source is None:
        return kind
    folder, editable = source
    if editable:
        return f"an editable checkout ({folder}) in {kind}"
    return f"{kind}, built from {folder}"


def detect() -> str:
    try:
        direct_url = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return f"not installed: run from the source tree ({Path(__file__).resolve().parent.parent})"
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    return describe(
        sys.prefix,
        sys.base_prefix,
        direct_url,
        Path(sys.prefix, "pipx_metadata.json").is_file(),
        str(Path(__file__).resolve().parent),
        user_site,
    )
