"""The scripted server (tests/support/scripted_server.py) plus a stand-in `codellama/nextEdit`, for the
editors' next-edit clients until the server's own handler exists.

The proposal is a rule, not a model: SCRIPTED_NEXT_EDIT (JSON `{"old": "width", "new": "w"}`) proposes
replacing the first whole-word `old` of the document with `new`; none left, no edit. SCRIPTED_NEXT_EDIT_DELAY
(seconds) holds the answer back, so that a test can change the buffer meanwhile. The notifications
`codellama/nextEdit{Shown,Accepted,Rejected}` are logged to stderr as `next edit <kind>: <id>`, where the
editors' logs show them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from typing import Any

from codellama_ls.lsp.server import CodeLlamaServer, create_server
from tests.support.scripted_server import factory

REQUEST = "codellama/nextEdit"
NOTIFICATIONS = {"codellama/nextEditShown": "shown", "codellama/nextEditAccepted": "accepted"}
NOTIFICATIONS["codellama/nextEditRejected"] = "rejected"

log = logging.getLogger("next_edit_standin")


def _field(params: Any, *names: str) -> Any:
    for name in names:
        params = params.get(name) if isinstance(params, dict) else getattr(params, name, None)
    return params


def install(server: CodeLlamaServer) -> None:
    rule = json.loads(os.environ.get("SCRIPTED_NEXT_EDIT") or "{}")
    delay = float(os.environ.get("SCRIPTED_NEXT_EDIT_DELAY", "0"))
    counter = iter(range(1, 1_000_000))

    @server.feature(REQUEST)
    async def next_edit(ls: CodeLlamaServer, params: Any) -> dict[str, Any]:
        uri = _field(params, "textDocument", "uri")
        documents = ls.session.documents
        if not rule or uri not in documents:
            return {"edits": []}
        # Computed on the text of the request, answered later: as a model would.
        document = documents.get(uri)
        # The version asked about: an answer that comes after a change is for the older text.
        asked = _field(params, "textDocument", "version")
        version = asked if isinstance(asked, int) else document.version
        match = re.search(rf"\b{re.escape(rule['old'])}\b", document.text)
        start = document.position_at(match.start()) if match else (0, 0)
        end = document.position_at(match.end()) if match else (0, 0)
        if delay:
            await asyncio.sleep(delay)
        if match is None:
            return {"edits": []}
        edit = {
            "id": f"standin-{next(counter)}",
            "range": {
                "start": {"line": start[0], "character": start[1]},
                "end": {"line": end[0], "character": end[1]},
            },
            "text": rule["new"],
            "textDocument": {"uri": uri, "version": version},
        }
        log.warning("next edit proposed: %s for version %s", edit["id"], version)
        return {"edits": [edit]}

    for method, kind in NOTIFICATIONS.items():

        def notified(ls: CodeLlamaServer, params: Any, kind: str = kind) -> None:
            log.warning("next edit %s: %s", kind, _field(params, "id"))

        server.feature(method)(notified)


if __name__ == "__main__":
    os.environ.setdefault("CODELLAMA_LS_SYNTAX_CHECK", "false")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    server = create_server(factory)
    install(server)
    transport = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    server.start_io(sys.stdin.buffer, transport)
