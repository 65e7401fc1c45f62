"""The JSON-RPC layer on top of pygls, hardened against hostile or sloppy clients.

- Every request that has an id is answered exactly once: a body that is not
  JSON gets ParseError (for the id we can still read, else id null), a
  malformed message InvalidRequest, params that do not validate InvalidParams,
  a request after ``shutdown`` InvalidRequest. Notifications with bad params
  are logged, not answered. (pygls drops all of these silently.)
- Documents are ours (:mod:`codellama_ls.documents.document`): pygls's built-in
  didOpen/didChange/didClose, which keep a second copy with other line-end
  rules and rewrite a change's range before our handler sees it, are removed.
- pygls files the future of every handler it runs and forgets only those of
  requests; the finished ones are dropped here, so typing does not grow memory.
- stdio and TCP both read through :class:`codellama_ls.lsp.framing.FrameReader`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any, BinaryIO

import attrs
import cattrs
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.io_ import StdoutWriter
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, MsgId
from pygls.server import JsonRPCServer

from codellama_ls.lsp.framing import END, MAX_CONTENT_LENGTH, FrameReader, ParseFailure, preview, salvage_id

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024

# pygls's built-in document handlers keep their own copy of every document.
_DOCUMENT_METHODS = (
    types.TEXT_DOCUMENT_DID_OPEN,
    types.TEXT_DOCUMENT_DID_CHANGE,
    types.TEXT_DOCUMENT_DID_CLOSE,
)

# -- the protocol ---------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _describe(exc: BaseException) -> str:
    """What is wrong with a message's params, in the client's field names."""
    if isinstance(exc, cattrs.BaseValidationError):

        def fmt(error: BaseException, type_: Any) -> str:
            if type(error) in (ValueError, OverflowError):  # lsprotocol's validators, int(inf)
                return str(error)
            return cattrs.v.format_exception(error, type_)

        problems = cattrs.transform_error(exc, format_exception=fmt)
        messages = []
        for problem in problems[:3]:
            what, _, where = problem.rpartition(" @ $")
            where = re.sub(r"[A-Za-z_]+", lambda m: _camel(m.group()), where.lstrip("."))
            messages.append(f"{what} (at {where})" if where else what)
        return "; ".join(messages)
    return f"{type(exc).__name__}: {exc}"


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


class LspProtocol(LanguageServerProtocol):
    """pygls's LSP protocol with our validation, answering and bookkeeping."""

    def __init__(self, server: Any, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        for method in _DOCUMENT_METHODS:
            self.fm.builtin_features.pop(method, None)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- receiving ------------------------------------------------------------

    def receive(self, value: Any) -> None:
        """Handle one decoded body (a JSON value or a :class:`ParseFailure`)."""
        if isinstance(value, ParseFailure):
            msg_id = salvage_id(value.body)
            log.error("could not parse a message (%s), starting %s", value.reason, preview(value.body))
            self._reply_error(msg_id, JsonRpcParseError(f"Parse error: {value.reason}"))
            return
        if not isinstance(value, dict):
            kind = "a batch (array)" if isinstance(value, list) else type(value).__name__
            log.error("dropped a message that is %s, not a JSON-RPC object", kind)
            self._reply_error(None, JsonRpcInvalidRequest(f"Invalid request: expected an object, got {kind}"))
            return
        has_id = "id" in value
        msg_id = value.get("id")
        method = value.get("method")
        if value.get("jsonrpc") != self.VERSION or (has_id and not _is_id(msg_id)):
            problem = (
                "jsonrpc must be '2.0'" if value.get("jsonrpc") != self.VERSION else "id must be a string or an integer"
            )
            log.error("dropped an invalid message (%s): %s", problem, preview(json.dumps(value).encode()))
            if has_id:
                self._reply_error(
                    msg_id if _is_id(msg_id) else None, JsonRpcInvalidRequest(f"Invalid request: {problem}")
                )
            return
        if "method" not in value:
            self._receive_response(value)
            return
        if not isinstance(method, str):
            log.error("dropped a message whose method is not a string")
            if has_id:
                self._reply_error(msg_id, JsonRpcInvalidRequest("Invalid request: method must be a string"))
            return
        if self._shutdown and method != types.EXIT:
            log.warning("%s after shutdown: not handled", method)
            if has_id:
                self._reply_error(msg_id, JsonRpcInvalidRequest(f"Invalid request: {method} after shutdown"))
            return
        if "params" not in value:
            # JSON-RPC lets a request omit params (vscode-jsonrpc does for `codellama/status`).
            value = {**value, "params": None}
        message_type = self.get_message_type(method)
        if has_id and message_type is not None and "id" not in attrs.fields_dict(message_type):
            log.warning("request %r: %s is a notification; not handled", msg_id, method)
            self._reply_error(msg_id, JsonRpcInvalidRequest(f"Invalid request: {method} is a notification"))
            return
        try:
            message = self._converter.structure(
                value, message_type or (JsonRPCRequestMessage if has_id else JsonRPCNotification)
            )
        except Exception as exc:
            detail = _describe(exc)
            if has_id:
                log.warning("request %r (%s) has invalid params: %s", msg_id, method, detail)
                self._reply_error(msg_id, JsonRpcInvalidParams(f"Invalid params for {method}: {detail}"))
            else:
                log.warning("notification %s has invalid params, ignored: %s", method, detail)
            return
        self.handle_message(message)

    def _receive_response(self, value: dict[str, Any]) -> None:
        """A response to one of our requests (progress creation, showMessageRequest)."""
        try:
            message = self.structure_message(value)
        except JsonRpcException:
            log.warning("dropped a response that does not validate: %s", preview(json.dumps(value).encode()))
            return
        self.handle_message(message)

    def _reply_error(self, msg_id: MsgId | None, error: JsonRpcException) -> None:
        if msg_id is None:
            # lsprotocol drops a None id when serialising; JSON-RPC wants "id": null.
            self._send_data(
                {"jsonrpc": self.VERSION, "id": None, "error": {"code": error.code, "message": error.message}}
            )
        else:
            self._send_response(msg_id, error=error.to_response_error())

    def reject_oversized(self, size: str, head: bytes) -> None:
        msg_id = salvage_id(head)
        if msg_id is not None:
            self._reply_error(
                msg_id,
                JsonRpcInvalidRequest(
                    f"Invalid request: the message is {size} bytes, over the {MAX_CONTENT_LENGTH} byte limit"
                ),
            )

    # -- bookkeeping ----------------------------------------------------------

    def _execute_handler(
        self,
        msg_id: MsgId,
        handler: Any,
        callback: Callable[[Future[Any]], None],
        args: tuple[Any, ...] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        # pygls files the future of every async or generator handler under its
        # id and forgets only request futures; notifications (didChange) and
        # steps of built-in handlers would stay forever.
        def done(future: Future[Any]) -> None:
            callback(future)
            if self._request_futures.get(msg_id) is not future:
                return  # never filed (plain functions), or a request's, already answered
            if isinstance(future, asyncio.Future) or self._loop is None:
                del self._request_futures[msg_id]
            elif not self._loop.is_closed():
                # A concurrent future runs this at once inside cancel(), maybe while
                # shutdown iterates the dict, or on a pool thread: later, on the loop.
                self._loop.call_soon_threadsafe(self._forget, msg_id, future)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    def _forget(self, msg_id: MsgId, future: Any) -> None:
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]


# -- transports -----------------------------------------------------------------


async def serve(protocol: LspProtocol, read: Callable[[], Awaitable[bytes]]) -> None:
    """Read frames until the input ends and hand them to the protocol."""
    protocol._loop = asyncio.get_running_loop()
    reader = FrameReader(read, on_oversized=protocol.reject_oversized)
    while (value := await reader.next_message()) is not END:
        protocol.receive(value)


class _StreamPump:
    """Chunks of a blocking binary stream, read on a daemon thread, so that a
    read blocked on the client never holds up the process's exit."""

    def __init__(self, stream: BinaryIO, loop: asyncio.AbstractEventLoop) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=8)
        self._loop = loop
        self._stream = stream
        threading.Thread(target=self._pump, name="lsp-input", daemon=True).start()

    def _pump(self) -> None:
        # os.read on the descriptor, not the buffered object: a daemon thread blocked
        # inside BufferedReader holds its lock, and the interpreter aborts at exit.
        try:
            fd = self._stream.fileno()
            read: Callable[[int], bytes] = lambda n: os.read(fd, n)  # noqa: E731
        except (AttributeError, OSError, ValueError):
            read = getattr(self._stream, "read1", self._stream.read)
        while True:
            try:
                chunk = read(_CHUNK)
            except (OSError, ValueError):
                chunk = b""
            try:
                asyncio.run_coroutine_threadsafe(self._queue.put(chunk), self._loop).result()
            except RuntimeError:  # the loop is gone
                return
            if not chunk:
                return

    async def read(self) -> bytes:
        return await self._queue.get()


def serve_stdio(server: JsonRPCServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve LSP on a pair of binary streams until the input ends or the client exits."""
    protocol = server.protocol
    assert isinstance(protocol, LspProtocol)
    protocol.set_writer(StdoutWriter(stdout))

    async def main() -> None:
        pump = _StreamPump(stdin, asyncio.get_running_loop())
        await serve(protocol, pump.read)

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()


def serve_tcp(server: JsonRPCServer, host: str, port: int) -> None:
    """Serve LSP to the first client that connects to HOST:PORT, until it leaves."""
    protocol = server.protocol
    assert isinstance(protocol, LspProtocol)

    async def main() -> None:
        finished = asyncio.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            protocol.set_writer(writer)
            try:
                await serve(protocol, lambda: reader.read(_CHUNK))
            finally:
                finished.set()

        listener = await asyncio.start_server(connection, host, port)
        log.info("serving LSP on %s", ", ".join(str(s.getsockname()) for s in listener.sockets))
        async with listener:
            await finished.wait()

    try:
        asyncio.run(main())
    except (ConnectionError, BrokenPipeError):
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
