"""A small HTTP/1.1 JSON client for remote engines (stdlib only): plain requests and server-sent
event streams, https, a bearer key, and cancellation by closing the connection.

Every failure becomes an `EngineError` whose message names the server and what went wrong, and
stays the same from one request to the next (the session shows each message once). The API key
is only ever written into the Authorization header, never into a message or the log.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from codellama_ls.engine.base import Cancelled, EngineError

# How often a watcher looks at the cancel token while the server is still evaluating the prompt.
_CANCEL_POLL_S = 0.01
_ERROR_BODY = 300


class Unreachable(EngineError):
    """The server did not answer at all (refused, no route, timed out): it may come back."""


class _Abandoned(Exception):
    """The request was cancelled while it was being sent or answered."""


def _never() -> bool:
    return False


@dataclass(frozen=True)
class Endpoint:
    url: str
    """The base URL as configured (what messages and `codellama/status` show, without credentials)."""
    what: str
    """The kind of server, for messages: "llama-server", "OpenAI-compatible server"."""
    api_key: str | None = None
    key_source: str = ""
    """The environment variable the key came from, named in the wrong-key message."""
    timeout_s: float = 10.0

    @classmethod
    def parse(cls, url: str, what: str, api_key: str | None, key_source: str, timeout_s: float) -> Endpoint:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EngineError(f"engineUrl must be an http:// or https:// URL, got {url!r}")
        # Credentials in a URL would end up in messages and logs; the key belongs in the environment.
        shown = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path.rstrip('/')}"
        return cls(shown, what, api_key, key_source, timeout_s)

    def _connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.url)
        host, port = parts.hostname or "", parts.port
        if parts.scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=self.timeout_s, context=ssl.create_default_context())
        return http.client.HTTPConnection(host, port, timeout=self.timeout_s)

    def _headers(self, stream: bool) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _path(self, path: str) -> str:
        return urlsplit(self.url).path.rstrip("/") + path

    def _fail(self, problem: str, kind: type[EngineError] = EngineError) -> EngineError:
        return kind(f"the {self.what} at {self.url} {problem}")

    def _open(
        self,
        method: str,
        path: str,
        body: Any,
        stream: bool,
        conn: http.client.HTTPConnection | None = None,
        cancelled: Cancelled = _never,
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        conn = conn or self._connection()
        payload = None if body is None else json.dumps(body).encode("utf-8")
        try:
            conn.request(method, self._path(path), body=payload, headers=self._headers(stream))
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if cancelled():
                raise _Abandoned from None  # the watcher closed the connection: nobody waits for an answer
            raise self._failure(exc) from None
        if response.status != 200:
            detail = self._error_detail(response)
            conn.close()
            if response.status in (401, 403):
                source = f"the environment variable {self.key_source}" if self.key_source else "engineApiKeyEnv"
                raise self._fail(f"refused the API key (HTTP {response.status}); check {source}")
            raise self._fail(f"answered HTTP {response.status} to {path}{detail}")
        return conn, response

    def _failure(self, exc: OSError | http.client.HTTPException) -> EngineError:
        if isinstance(exc, TimeoutError):
            return self._fail(f"did not answer within {self.timeout_s:g} s", Unreachable)
        if isinstance(exc, ssl.SSLError):
            return self._fail(f"failed the TLS handshake ({exc.reason or exc})")
        if isinstance(exc, OSError):
            reason = exc.strerror or type(exc).__name__
            return self._fail(f"cannot be reached ({reason}); completions resume when it answers", Unreachable)
        return self._fail(f"broke the HTTP protocol ({type(exc).__name__})")

    @staticmethod
    def _error_detail(response: http.client.HTTPResponse) -> str:
        try:
            raw = response.read(64 * 1024)
            data = json.loads(raw)
            message = data.get("error", {}).get("message") if isinstance(data, dict) else None
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return ""
        return f": {str(message)[:_ERROR_BODY]}" if message else ""

    def get(self, path: str) -> Any:
        return self.post(path, None, method="GET")

    def post(self, path: str, body: Any, method: str = "POST") -> Any:
        """One JSON request and its JSON answer."""
        conn, response = self._open(method, path, body, stream=False)
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException):
            raise self._fail(f"broke off its answer to {path}") from None
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except ValueError:
            raise self._fail(f"answered {path} with something that is not JSON") from None

    def events(self, path: str, body: Any, cancelled: Cancelled = _never) -> Generator[dict[str, Any], None, None]:
        """The JSON objects of a server-sent event stream, until it ends, `cancelled()` turns true,
        or the caller closes the iterator; either way the connection is closed, which is how
        llama-server, vLLM and SGLang learn that nobody wants the rest."""
        conn = self._connection()
        done = threading.Event()
        # Watching from the start: llama-server sends no headers until it has evaluated the prompt.
        watcher = threading.Thread(target=_watch, args=(conn, cancelled, done), daemon=True)
        watcher.start()
        try:
            try:
                conn, response = self._open("POST", path, body, True, conn, cancelled)
            except _Abandoned:
                return
            for event in self._read_events(response, path):
                if cancelled():
                    return
                yield event
        except (OSError, ValueError, http.client.HTTPException):
            if cancelled():
                return  # the watcher closed the connection under the read
            raise self._fail(f"broke off its answer to {path}") from None
        finally:
            done.set()
            conn.close()

    def _read_events(self, response: http.client.HTTPResponse, path: str) -> Iterator[dict[str, Any]]:
        for raw in response:
            line = raw.decode("utf-8", "replace").strip()
            if not line or line.startswith(":"):
                continue  # keep-alive comments
            field, _, value = line.partition(":")
            value = value.strip()
            if field == "data" and value == "[DONE]":
                return
            try:
                event = json.loads(value)
            except ValueError:
                raise self._fail(f"answered {path} with something that is not an event stream") from None
            if not isinstance(event, dict):
                raise self._fail(f"answered {path} with something that is not an event stream")
            if field == "error" or "error" in event:
                error = event.get("error", event)
                message = error.get("message") if isinstance(error, dict) else error
                raise self._fail(f"reported an error: {str(message)[:_ERROR_BODY]}")
            yield event


def _watch(conn: http.client.HTTPConnection, cancelled: Cancelled, done: threading.Event) -> None:
    """Close the connection as soon as the request is cancelled, even while the server is still
    evaluating the prompt and nothing arrives to read."""
    while not done.wait(_CANCEL_POLL_S):
        if cancelled():
            sock = conn.sock
            if sock is None:
                continue  # still connecting: close it once connected
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
