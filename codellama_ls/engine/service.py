"""The shared engine process: one model for every language server of this user with these settings.

Started by the first server that needs it (`python -m codellama_ls.engine.service --socket PATH
--transport unix|tcp --settings JSON`); it loads the model, then listens on a Unix socket (mode 0600,
in a 0700 folder, and only peers of the same uid are served) or on loopback TCP, serving only clients
that send the token it wrote to a file only its user can read (`endpoint.py`). llama.cpp stays on the
one engine thread (`EngineWorker`); the asyncio loop reads requests, keeps the queue (`FairQueue`: newest wins per
client and document, clients take turns) and streams pieces back. A cancel sets the request's
token, which the engine checks before every decode step. It exits when no client has been attached
for `--idle-s` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import socket
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codellama_ls import __version__
from codellama_ls.engine.base import Engine, EngineError, GenerationRequest, Progress
from codellama_ls.engine.endpoint import Endpoint, Secrets, identity_of, listen, release, same_secret
from codellama_ls.engine.fair_queue import FairQueue
from codellama_ls.engine.wire import HEADER_SIZE, PROTOCOL, encode, info_to_wire, length_of, request_from_wire
from codellama_ls.engine.worker import CancelToken, EngineFactory, EngineState, EngineWorker
from codellama_ls.settings.config import Settings

log = logging.getLogger("codellama_ls.engine.service")


# Answers queued for one client beyond what its socket takes; far above a healthy client's backlog.
SEND_BUFFER_LIMIT = 8 * 1024 * 1024
# Before its hello a peer is a stranger (over TCP, any local process): it gets little room and time.
HELLO_LIMIT = 64 * 1024
HELLO_TIMEOUT_S = 10.0


@dataclass
class Request:
    """A client's `generate`: the engine's request, its cancel token and whom to answer."""

    client: Client
    id: int
    generation: GenerationRequest
    token: CancelToken
    done_with: int = 0
    """Alternatives: the client is done with the branches before this one (`skip`)."""

    @property
    def key(self) -> str:
        return self.generation.key


class Client:
    def __init__(self, number: int, writer: asyncio.StreamWriter, pid: int) -> None:
        self.number = number
        self.pid = pid
        self._writer = writer
        self.requests: dict[int, Request] = {}
        self.gone = False

    def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        try:
            self._writer.write(encode(message))
            if self._writer.transport.get_write_buffer_size() > SEND_BUFFER_LIMIT:
                # A client that stopped reading (hung, stopped in a debugger): drop it rather than
                # hold its answers in this process without end. Its reader then cleans up.
                log.warning("client %d stopped reading: dropping it", self.number)
                self.gone = True
                self._writer.transport.abort()
        except Exception:  # the client went away; its reader notices and cleans up
            self.gone = True


def peer_uid(sock: socket.socket) -> int | None:
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (OSError, AttributeError):
        return None
    return int(struct.unpack("3i", raw)[1])


class Service:
    def __init__(self, worker: EngineWorker, idle_s: float, secrets: Secrets | None = None) -> None:
        self._worker = worker
        self._secrets = secrets
        """Over TCP: the token every hello must carry, and the answer the welcome proves us with."""
        self._idle_s = idle_s
        self._queue: FairQueue[Request] = FairQueue()
        self._wake = asyncio.Event()
        self._running: Request | None = None
        self._clients: dict[int, Client] = {}
        self._numbers = 0
        self._idle_timer: asyncio.TimerHandle | None = None
        self.finished = asyncio.Event()
        self._warm_next: tuple[str, list[int]] | None = None
        """A document's body to warm once the queue is empty (`LlamaEngine.warm`): the latest asked."""
        self._warming = CancelToken()

    @property
    def engine(self) -> Engine:
        engine = self._worker.engine
        assert engine is not None
        return engine

    # -- connections ----------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        unix = sock is not None and sock.family == getattr(socket, "AF_UNIX", None)
        if unix and peer_uid(sock) not in (None, os.getuid()):
            log.warning("refused a connection from another user")
            writer.close()
            return
        client: Client | None = None
        try:
            hello = await asyncio.wait_for(self._read(reader, HELLO_LIMIT), HELLO_TIMEOUT_S)
            if self._secrets is not None and not same_secret(hello.get("token"), self._secrets.token):
                log.warning("refused a connection without this engine's token")
                writer.write(encode({"op": "refused", "message": "the shared engine refused a wrong or missing token"}))
                await writer.drain()
                return
            if hello.get("op") != "hello" or hello.get("protocol") != PROTOCOL:
                writer.write(
                    encode(
                        {
                            "op": "refused",
                            "message": f"the shared engine (codellama-ls {__version__}, protocol {PROTOCOL}) cannot"
                            f" serve codellama-ls {hello.get('version')} (protocol {hello.get('protocol')});"
                            " it exits once idle, or stop it",
                        }
                    )
                )
                await writer.drain()
                return
            self._numbers += 1
            client = Client(self._numbers, writer, int(hello.get("pid", 0)))
            self._attach(client)
            client.send(
                {
                    "op": "welcome",
                    "protocol": PROTOCOL,
                    "version": __version__,
                    "pid": os.getpid(),
                    "info": info_to_wire(self.engine.info),
                    **({"answer": self._secrets.answer} if self._secrets is not None else {}),
                }
            )
            while True:
                self._dispatch(client, await self._read(reader))
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, ValueError, json.JSONDecodeError):
            pass
        except Exception:  # a malformed message: that client goes, the others stay
            log.exception("dropping client %s", client.number if client else "?")
        finally:
            if client is not None:
                self._detach(client)
            writer.close()

    async def _read(self, reader: asyncio.StreamReader, limit: int | None = None) -> dict[str, Any]:
        size = length_of(await reader.readexactly(HEADER_SIZE))
        if limit is not None and size > limit:
            raise ValueError(f"a hello of {size} bytes")
        message = json.loads(await reader.readexactly(size))
        if not isinstance(message, dict):
            raise ValueError("a message that is not an object")
        return message

    def _attach(self, client: Client) -> None:
        self._clients[client.number] = client
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        log.info("client %d (pid %d) attached; %d attached", client.number, client.pid, len(self._clients))

    def _detach(self, client: Client) -> None:
        """A client that went away (closed, crashed, killed): its work stops, nobody else notices."""
        client.gone = True
        self._clients.pop(client.number, None)
        self._queue.drop_client(client.number)
        for request in client.requests.values():
            request.token.cancel()
        client.requests.clear()
        log.info("client %d detached; %d attached", client.number, len(self._clients))
        if not self._clients:
            self._idle_timer = asyncio.get_running_loop().call_later(self._idle_s, self._idle)

    def _idle(self) -> None:
        if not self._clients:
            log.info("no client for %.0fs: exiting", self._idle_s)
            self.finished.set()

    # -- requests -------------------------------------------------------------------

    def _dispatch(self, client: Client, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "generate":
            # Background work never makes a request wait: warming stops inside its llama_decode.
            self._warming.cancel()
            self._warm_next = None
            token = CancelToken()
            request = Request(client, int(message["id"]), request_from_wire(message, token), token)
            client.requests[request.id] = request
            # Newest wins: the same client's older request for this document stops, queued or running.
            replaced = self._queue.put(client.number, request.key, request)
            if replaced is not None:
                self._finish(replaced, {"op": "done", "stats": {"stop_reason": "cancelled"}})
            running = self._running
            if running is not None and running.client is client and running.key == request.key:
                running.token.cancel()
            self._wake.set()
        elif op == "warm":
            self._warm_next = (str(message.get("key", "")), [int(t) for t in message.get("body", [])])
            self._wake.set()
        elif op == "skip":
            skipped = client.requests.get(int(message.get("id", -1)))
            if skipped is not None:
                skipped.done_with = max(skipped.done_with, int(message.get("branch", 0)) + 1)
        elif op == "cancel":
            cancelled = client.requests.get(int(message.get("id", -1)))
            if cancelled is not None:
                cancelled.token.cancel()
                if self._queue.remove(client.number, cancelled.key, cancelled):
                    self._finish(cancelled, {"op": "done", "stats": {"stop_reason": "cancelled"}})

    def _finish(self, request: Request, message: dict[str, Any]) -> None:
        request.client.requests.pop(request.id, None)
        request.client.send({**message, "id": request.id})

    async def serve_queue(self) -> None:
        while True:
            await self._wake.wait()
            slot = self._queue.pop()
            if slot is None:
                self._wake.clear()
                warm, self._warm_next = self._warm_next, None
                if warm is not None:
                    await self._warm(*warm)
                continue
            request = slot.item
            if request.token.cancelled or request.client.gone:
                self._finish(request, {"op": "done", "stats": {"stop_reason": "cancelled"}})
                continue
            self._running = request
            try:
                await self._run(request)
            finally:
                self._running = None

    async def _warm(self, key: str, body: list[int]) -> None:
        token = self._warming = CancelToken()

        def work(engine: Engine) -> None:
            if engine.warms and not token.cancelled:
                engine.warm(body, key, token)

        try:
            await self._worker.run(work)
        except Exception:  # warming is an optimisation: its failure costs the next move, nothing else
            log.exception("warming the KV cache failed")

    async def _run(self, request: Request) -> None:
        loop = asyncio.get_running_loop()
        client, number = request.client, request.id

        def work(engine: Engine) -> dict[str, Any]:
            if request.generation.alternatives > 1:
                return alternatives(engine)
            pieces = engine.generate(request.generation)
            try:
                for piece in pieces:
                    loop.call_soon_threadsafe(client.send, {"op": "piece", "id": number, "text": piece})
                    if client.gone:
                        request.token.cancel()
            finally:
                pieces.close()
            return dataclasses.asdict(pieces.stats)

        def alternatives(engine: Engine) -> dict[str, Any]:
            """Each branch's pieces marked with its number and ended with its stats; a branch the
            client is done with (its stop rules are satisfied) is closed at its next piece."""
            streams = engine.generate_alternatives(request.generation)
            first: dict[str, Any] = {}
            try:
                for branch, pieces in enumerate(streams):
                    try:
                        for piece in pieces:
                            if request.done_with > branch:
                                break
                            message = {"op": "piece", "id": number, "text": piece, "branch": branch}
                            loop.call_soon_threadsafe(client.send, message)
                            if client.gone:
                                request.token.cancel()
                    finally:
                        pieces.close()
                    stats = dataclasses.asdict(pieces.stats)
                    first = first or stats
                    ended = {"op": "ended", "id": number, "branch": branch, "stats": stats}
                    loop.call_soon_threadsafe(client.send, ended)
            finally:
                close = getattr(streams, "close", None)
                if close is not None:
                    close()
            return first

        try:
            stats = await self._worker.run(work)
        except EngineError as exc:
            self._finish(request, {"op": "error", "message": str(exc)})
            return
        except Exception as exc:  # a bug: that request fails, the service stays up
            log.exception("generation failed")
            self._finish(request, {"op": "error", "message": f"the shared engine failed: {exc}"})
            return
        self._finish(request, {"op": "done", "stats": stats})


def load_model(settings: Settings, progress: Progress) -> Engine:
    """The model file the starting server resolved (it downloads presets, not us), in llama.cpp."""
    from codellama_ls.engine.llama import LlamaEngine

    progress(f"Loading {settings.model}", 0, None)
    return LlamaEngine(
        Path(settings.model),
        n_ctx=settings.n_ctx,
        n_gpu_layers=settings.n_gpu_layers,
        n_threads=settings.n_threads,
        n_batch=settings.n_batch,
        state_cache_mb=settings.state_cache_mb,
    )


async def serve(where: Endpoint | Path, settings: Settings, idle_s: float, factory: EngineFactory = load_model) -> int:
    endpoint = where if isinstance(where, Endpoint) else Endpoint("unix", where)
    worker = EngineWorker(factory)
    await worker.load(settings, lambda message, done, total: log.info("%s", message))
    if worker.state is not EngineState.READY:
        # The client that started us reads this from our log and tells its user.
        print(f"codellama-ls engine: {worker.error}", file=sys.stderr, flush=True)
        return 1
    sock, published = listen(endpoint)
    identity = identity_of(endpoint, published)
    service = Service(worker, idle_s, published)
    server = await asyncio.start_server(service.handle, sock=sock)
    queue = asyncio.ensure_future(service.serve_queue())
    # Until the first client attaches, idle counts as well: the starter may have died meanwhile.
    service._idle_timer = asyncio.get_running_loop().call_later(idle_s, service._idle)
    log.info("engine %d ready on %s", os.getpid(), endpoint.path)
    try:
        await service.finished.wait()
    finally:
        server.close()
        queue.cancel()
        release(endpoint, identity)  # unless a successor's
        worker.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codellama-ls-engine", description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the Unix socket, or with tcp the file for port and token")
    parser.add_argument("--transport", choices=("unix", "tcp"), default="unix")
    parser.add_argument("--settings", required=True, help="the model settings, a JSON object")
    parser.add_argument("--idle-s", type=float, default=300.0, help="exit after this long without clients")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("codellama_ls").setLevel(args.log_level.upper())
    chosen = json.loads(args.settings)
    settings = dataclasses.replace(Settings(), **chosen, engine="local")
    return asyncio.run(serve(Endpoint(args.transport, Path(args.socket)), settings, args.idle_s))


if __name__ == "__main__":
    sys.exit(main())
