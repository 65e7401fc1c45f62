"""The path a document's URI names, whichever system the editor runs on (pure).

VS Code sends Windows files as `file:///c%3A/Users/me/a.py` (drive letter lower-cased, the colon
escaped), Neovim as `file:///C:/Users/me/a.py`, and files on a share as `file://server/share/a.py`.
The path comes back with forward slashes (`c:/Users/me/a.py`, `//server/share/a.py`), the form the
prompts use for file names on every system.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_DRIVE = re.compile(r"^/?([A-Za-z]):(/|$)")


def uri_path(uri: str) -> str:
    """`file:` URIs (and other schemes' paths) decoded; a bare path has its backslashes made slashes."""
    if "://" not in uri and not uri.startswith("file:"):
        return uri.replace("\\", "/")
    parts = urlsplit(uri)
    path = unquote(parts.path).replace("\\", "/")
    host = parts.netloc if parts.netloc.lower() not in ("", "localhost") else ""
    if host:
        return f"//{host}{path}"  # a UNC share
    drive = _DRIVE.match(path)
    if drive:
        return f"{drive[1]}:/{path[drive.end() :]}"
    return path
