"""Remote engines: the model runs in llama.cpp's llama-server or an OpenAI-compatible server.

Prompts stay what `prompt.py` builds, token for token: the token-id list is the request's `prompt`,
never a text template. The vocabulary comes from the local GGUF when the file is here (a vocab-only
load, see `LlamaVocab`), else from llama-server's `/tokenize` and `/detokenize`. Token healing needs
the whole vocabulary (which tokens spell what was typed), so without the local file it is off and
`auto` uses PSM where it can tell a merge; with it, each healed token is constrained by `logit_bias`."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from codellama_ls.engine.base import (
    Cancelled,
    EngineError,
    GeneratesElsewhere,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    NoWarming,
    OneGeneration,
    Progress,
    Sampling,
    TimedGeneration,
    Vocabulary,
    vocab_of,
)
from codellama_ls.engine.http import Endpoint, Unreachable
from codellama_ls.prompts.families import recognise, spelled_as
from codellama_ls.prompts.fim import fim_tokens_of
from codellama_ls.prompts.healing import Respellings
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

# Large enough that any allowed token outranks every other one, so greedy picks the best allowed token
# as the local engine does. The OpenAI API caps biases at 100, which real models' logits stay within.
_HEAL_BIAS = {"llama-server": 1000.0, "openai": 90.0}
_TIE_STEP, _TIE_RANKS = 1e-3, 64
# More allowed tokens than this would make a large request body for every keystroke inside a word.
_HEAL_MAX_ALLOWED = 4096
# Tokens llama-server lists by score when more are allowed than can be biased.
_HEAL_LISTED = 64
# The OpenAI API lists at most 5 (vLLM 20 by default); a server may refuse more.
_OPENAI_LISTED = 5


class ServerVocab:
    """llama-server's own tokenizer over HTTP, for when the model file is not on this machine."""

    def __init__(self, endpoint: Endpoint, name: str) -> None:
        self._endpoint = endpoint
        self._pieces: dict[int, bytes] = {}

        def specials(text: str) -> list[int]:
            return self._tokenize(text, special=True)

        def lookup(text: str) -> int | None:
            # The family table's texts, each one special token of exactly that text here or none.
            ids = specials(text)
            return ids[0] if len(ids) == 1 and spelled_as(self.token_text(ids[0]), text) else None

        found = recognise(lookup)
        fim = fim_tokens_of(found)
        with_bos = endpoint.post("/tokenize", {"content": "", "add_special": True, "parse_special": False})
        bos_ids = with_bos.get("tokens") if isinstance(with_bos, dict) else None
        bos = bos_ids[0] if isinstance(bos_ids, list) and len(bos_ids) == 1 else None
        props = endpoint.get("/props")
        eos_text = props.get("eos_token") if isinstance(props, dict) else None
        eos_ids = specials(str(eos_text)) if eos_text else []
        end_tokens = set(eos_ids[:1]) | (set(found.stops) if found is not None else set())
        if found is not None and not found.family.bos:
            bos = None  # the family's reference prompt has none, whatever the server adds to texts
        elif found is not None and bos is None and isinstance(props, dict) and props.get("bos_token"):
            bos_ids = specials(str(props["bos_token"]))  # the reference has BOS, the GGUF's flag says none
            bos = bos_ids[0] if len(bos_ids) == 1 else None
        self._control = end_tokens | ({bos} if bos is not None else set())
        if fim is not None:
            self._control |= {fim.prefix, fim.suffix, fim.middle}
        probe = self.tokenize("x")
        adds_space = b"".join(self.piece_bytes(t) for t in probe).startswith(b" ")
        self.info = ModelInfo(
            path="",
            name=name,
            n_ctx=0,
            n_vocab=0,
            gpu_layers=0,
            fim=fim,
            bos=bos,
            adds_space_prefix=adds_space,
            end_tokens=frozenset(end_tokens),
            healing=False,
        )

    def _tokenize(self, text: str, special: bool) -> list[int]:
        answer = self._endpoint.post("/tokenize", {"content": text, "add_special": False, "parse_special": special})
        tokens = answer.get("tokens") if isinstance(answer, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, int) for t in tokens):
            raise EngineError(f"the {self._endpoint.what} at {self._endpoint.url} answered /tokenize without tokens")
        return tokens

    def tokenize(self, text: str) -> list[int]:
        return self._tokenize(text, special=False) if text else []

    def tokenize_special(self, text: str) -> list[int]:
        return self._tokenize(text, special=True) if text else []

    def piece_bytes(self, token: int) -> bytes:
        if token in self._control:
            return b""
        piece = self._pieces.get(token)
        if piece is None:
            answer = self._endpoint.post("/detokenize", {"tokens": [token]})
            piece = str(answer.get("content", "") if isinstance(answer, dict) else "").encode("utf-8")
            self._pieces[token] = piece
        return piece

    def token_text(self, token: int) -> str:
        answer = self._endpoint.post("/detokenize", {"tokens": [token]})
        return str(answer.get("content", "") if isinstance(answer, dict) else "")

    def close(self) -> None:
        pass


SlotPolicy = Callable[[str, int], int]
"""Which of llama-server's slots (`id_slot`) a document's requests go to, given its key and the slot
count (0: unknown); -1 lets the server choose."""


def server_chooses(key: str, slots: int) -> int:
    """llama-server takes the idle slot whose cache shares most of the prompt (`--slot-prompt-similarity`),
    so each user's document goes back to its own slot and its KV cache. A stable hash of user and
    document over the slots was measured worse: with four users on four slots it put two on one slot,
    which thrash and wait while another slot idles (benchmarks/README.md, `remote_bench.py` compares)."""
    return -1


class RemoteEngine(GeneratesElsewhere, TimedGeneration, NoWarming, OneGeneration):
    def __init__(
        self,
        settings: Settings,
        endpoint: Endpoint,
        vocab: Vocabulary,
        facts: tuple[int, int, str] | None,
        slot_policy: SlotPolicy = server_chooses,
    ) -> None:
        """`facts` is what the server said about itself (`_server_facts`); None when it was not
        reachable yet: asked again before the next request."""
        self.kind = settings.engine
        self.slot_policy = slot_policy
        self._settings = settings
        self._endpoint = endpoint
        self._vocab = vocab
        self._slots, self._model = 0, ""
        self._info = dataclasses.replace(vocab.info, n_ctx=settings.n_ctx)
        self._learn(facts)
        self._stats = GenerationStats()
        self._all_pieces: list[bytes] | None = None
        self._respellings: Respellings | None = None
        self._allowed_sets: dict[bytes, frozenset[int]] = {}
        self._token_of_text: dict[str, int] | None = None
        self.server_prompt_tokens = 0
        self._counted: GenerationStats | None = None
        """llama-server's `tokens_evaluated` of the last request: the prompt as it received it."""

    def _learn(self, facts: tuple[int, int, str] | None) -> None:
        self._facts = facts
        url = self._endpoint.url
        if facts is None:
            self._info = dataclasses.replace(self._info, where=f"{self.kind} at {url} (not reached yet)")
            return
        n_ctx, self._slots, model = facts
        self._model = model if self.kind == "openai" else ""
        plural = "" if self._slots == 1 else "s"
        where = f"{self.kind} at {url}" + (f" ({self._slots} slot{plural})" if self._slots else "")
        self._info = dataclasses.replace(self._info, n_ctx=n_ctx, where=where)

    @property
    def slots(self) -> int:
        """llama-server's slot count; 0 when unknown (not reached yet, or an OpenAI-compatible server)."""
        return self._slots

    # -- requests -------------------------------------------------------------------

    def _body(self, prompt: list[int], sampling: Sampling, n_predict: int, key: str, stream: bool) -> dict[str, Any]:
        if self.kind == "llama-server":
            return {
                "prompt": prompt,
                "n_predict": n_predict,
                "stream": stream,
                "cache_prompt": True,
                "return_tokens": True,
                "id_slot": self.slot_policy(key, self._slots),
                "temperature": sampling.temperature,
                "top_k": sampling.top_k,
                "top_p": sampling.top_p,
                "min_p": 0.0,
                "repeat_penalty": 1.0,
            }
        body: dict[str, Any] = {
            "prompt": prompt,
            "max_tokens": n_predict,
            "stream": stream,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            # vLLM and SGLang: Code Llama's ▁<EOT> is not the model's EOS there.
            "stop_token_ids": sorted(self._info.end_tokens),
        }
        if self._model:
            body["model"] = self._model
        if sampling.top_k > 0:
            body["top_k"] = sampling.top_k
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    @property
    def _path(self) -> str:
        if self.kind == "llama-server":
            return "/completion"
        return "/completions" if self._endpoint.url.endswith("/v1") else "/v1/completions"

    def _generate(self, request: GenerationRequest, stats: GenerationStats) -> Iterator[str]:
        started = time.perf_counter()
        prompt, sampling, cancelled = request.prompt, request.sampling, request.cancelled
        constraint = request.constraint
        key = request.key
        if not prompt:
            return
        if self._facts is None:
            self._learn(_server_facts(self._settings, self._endpoint))
        if len(prompt) + sampling.max_tokens > self._info.n_ctx:
            raise EngineError(f"prompt of {len(prompt)} tokens leaves no room to generate in n_ctx={self._info.n_ctx}")
        context, budget = list(prompt), sampling.max_tokens
        if constraint:
            # Token healing: the first tokens must spell out the backed-off text again (the last may
            # extend it), one constrained token per request, each from the server's prompt cache.
            pending = constraint.encode("utf-8")
            while pending:
                token = self._constrained_token(context, pending, sampling, key, stats, cancelled)
                if cancelled():
                    stats.stop_reason = "cancelled"
                    return
                if token is None:
                    stats.stop_reason = "no token fits"
                    return
                spelled = self._vocab.piece_bytes(token)
                stats.generated_tokens += 1
                if stats.generated_tokens == 1:
                    stats.first_token_ms = (time.perf_counter() - started) * 1000
                yield spelled.decode("utf-8", "replace")
                context.append(token)
                budget -= 1
                pending = pending[len(spelled) :]
            if budget <= 0:
                stats.stop_reason = "max_tokens"
                return
        body = self._body(context, sampling, budget, key, stream=True)
        stats.stop_reason = "end"
        events = self._endpoint.events(self._path, body, cancelled)
        try:
            ended = False
            for event in events:
                text, tokens, final = self._read_event(event, stats)
                if ended and not final:
                    return  # a GGUF without EOT metadata: the server does not know it should stop
                if any(t in self._info.end_tokens for t in tokens):
                    # The server's last event, with its counts, follows at once when it stops there too.
                    ended = True
                    stats.stop_reason = "eot"
                    continue
                if text or tokens:
                    if stats.generated_tokens == 0:
                        stats.first_token_ms = (time.perf_counter() - started) * 1000
                    stats.generated_tokens += max(len(tokens), 1)
                    if text:
                        yield text
                if final:
                    break
            if ended:
                stats.stop_reason = "eot"
        finally:
            events.close()  # closing the connection is what cancels the rest on the server
        if cancelled():
            stats.stop_reason = "cancelled"

    def _read_event(self, event: dict[str, Any], stats: GenerationStats) -> tuple[str, list[int], bool]:
        """The text, token ids and whether it is the last event; the server's own counts go into stats."""
        timings = event.get("timings")
        if isinstance(timings, dict):
            self._count(stats, timings.get("cache_n"), timings.get("prompt_n"), timings.get("prompt_ms"))
        if self.kind == "llama-server":
            tokens = event.get("tokens") or []
            stop = bool(event.get("stop"))
            seen = event.get("tokens_evaluated")
            if isinstance(seen, int):
                self.server_prompt_tokens = seen  # the server's own count of the prompt it was given
            if stop:
                kind = str(event.get("stop_type") or "end")
                stats.stop_reason = {"eos": "eot", "limit": "max_tokens"}.get(kind, kind)
            return str(event.get("content") or ""), [t for t in tokens if isinstance(t, int)], stop
        usage = event.get("usage")
        if isinstance(usage, dict) and not isinstance(timings, dict):
            details = usage.get("prompt_tokens_details") or {}
            cached = details.get("cached_tokens", 0) if isinstance(details, dict) else 0
            prompt_n = usage.get("prompt_tokens")
            self._count(stats, cached, prompt_n - cached if isinstance(prompt_n, int) else None, None)
        choices = event.get("choices") or []
        if not choices:
            return "", [], False
        choice = choices[0] if isinstance(choices[0], dict) else {}
        reason = choice.get("finish_reason")
        if reason:
            stats.stop_reason = "eot" if reason == "stop" else "max_tokens" if reason == "length" else str(reason)
        return str(choice.get("text") or ""), [], False

    def _count(self, stats: GenerationStats, cached: Any, evaluated: Any, prompt_ms: Any) -> None:
        """The prompt's counts come from the first request of a generation; the ones after it (token
        healing's) only add the healed tokens, as the local engine counts them."""
        if self._counted is stats:
            return
        self._counted = stats
        if isinstance(cached, int):
            stats.reused_tokens = cached
        if isinstance(evaluated, int):
            stats.evaluated_tokens = evaluated
        if isinstance(prompt_ms, (int, float)):
            stats.prompt_ms = float(prompt_ms)

    # -- token healing ------------------------------------------------------------

    def _pieces(self) -> list[bytes]:
        if self._all_pieces is None:
            self._all_pieces = [self._vocab.piece_bytes(t) for t in range(self._info.n_vocab)]
        return self._all_pieces

    def _constrained_token(
        self,
        prompt: list[int],
        pending: bytes,
        sampling: Sampling,
        key: str,
        stats: GenerationStats,
        cancelled: Cancelled,
    ) -> int | None:
        """One token among those whose text starts with all of `pending` or is a shorter part of it,
        each biased far above the rest: the server samples among them as the local engine does over
        its masked logits."""
        # The local engine's candidates, in its order (which decides between exactly equal logits); it masks
        # the unnatural ones among its best-scored few, but the server's scores are not seen here, so they
        # are left out before it chooses.
        allowed = self._healing().natural_candidates(pending)
        if not allowed:
            return None
        if len(allowed) > _HEAL_MAX_ALLOWED:
            # Too many to bias (a lone space starts a good part of the vocabulary): llama-server's best
            # listed tokens, the first allowed one; else the token spelling the longest start of
            # `pending`, as unhealed.
            listed = self._best_listed(prompt, sampling, key, stats, cancelled)
            fitting = self._allowed_set(pending, allowed)
            chosen = next((t for t in listed if t in fitting), None)
            if chosen is not None:
                return chosen
            fits = [t for t in allowed if pending.startswith(self._pieces()[t])]
            return max(fits, key=lambda t: len(self._pieces()[t]), default=None)
        # Streamed like any generation, so a keystroke cancels it while the server evaluates the prompt.
        body = self._body(prompt, sampling, 1, key, stream=True)
        # A server's top-k leaves exactly equal logits in no particular order; the local engine takes the
        # first allowed token. A step far below any real difference between logits keeps that order.
        bias = [_HEAL_BIAS[self.kind] + _TIE_STEP * max(0, _TIE_RANKS - rank) for rank in range(len(allowed))]
        if self.kind == "llama-server":
            body["logit_bias"] = [[t, b] for t, b in zip(allowed, bias, strict=True)]
        else:
            body["logit_bias"] = {str(t): b for t, b in zip(allowed, bias, strict=True)}
        text, tokens = "", list[int]()
        events = self._endpoint.events(self._path, body, cancelled)
        try:
            for event in events:
                piece, ids, final = self._read_event(event, stats)
                text, tokens = text + piece, tokens + ids
                if final:
                    break
        finally:
            events.close()
        if tokens:
            first = tokens[0]
            return first if first in allowed else None
        # OpenAI-style answers carry text only: the allowed token that spells it.
        spelled = text.encode("utf-8")
        return next((t for t in allowed if self._pieces()[t] == spelled), None)

    def _allowed_set(self, pending: bytes, allowed: list[int]) -> frozenset[int]:
        found = self._allowed_sets.get(pending)
        if found is None:
            if len(self._allowed_sets) > 16:
                self._allowed_sets.clear()
            found = self._allowed_sets[pending] = frozenset(allowed)
        return found

    def _best_listed(
        self, prompt: list[int], sampling: Sampling, key: str, stats: GenerationStats, cancelled: Cancelled
    ) -> list[int]:
        """The server's most likely next tokens, best first, from the model's scores before sampling
        (llama-server's `n_probs`, the OpenAI API's `logprobs`); greedy only: a sampled choice among
        them would need their whole distribution. Empty when the server lists none."""
        if sampling.temperature > 0:
            return []
        body = self._body(prompt, sampling, 1, key, stream=True)
        if self.kind == "llama-server":
            body["n_probs"] = _HEAL_LISTED
        else:
            body["logprobs"] = _OPENAI_LISTED
        listed: list[int] = []
        try:
            events = self._endpoint.events(self._path, body, cancelled)
            try:
                for event in events:
                    listed += self._listed_in(event)
                    _, _, final = self._read_event(event, stats)
                    if final:
                        break
            finally:
                events.close()
        except EngineError as exc:
            if self.kind == "llama-server":
                raise
            log.info("the server lists no likely tokens (%s); token healing goes on without them", exc)
        return listed

    def _listed_in(self, event: dict[str, Any]) -> list[int]:
        """Token ids from one event's list of likely tokens: llama-server gives ids (in `/completion`'s
        `completion_probabilities` and in its `/v1/completions` `logprobs.content`); the OpenAI format
        gives each token's text, matched here to the token that spells it."""
        entries: Any = event.get("completion_probabilities")
        if entries is None:
            choices = event.get("choices") or [{}]
            logprobs = choices[0].get("logprobs") if isinstance(choices[0], dict) else None
            if not isinstance(logprobs, dict):
                return []
            entries = logprobs.get("content")
            if entries is None:
                return self._ids_of_texts(logprobs.get("top_logprobs"))
        ids: list[int] = []
        for entry in entries if isinstance(entries, list) else ():
            tops = (entry.get("top_logprobs") or entry.get("probs") or ()) if isinstance(entry, dict) else ()
            ids += [top["id"] for top in tops if isinstance(top, dict) and isinstance(top.get("id"), int)]
        return ids

    def _ids_of_texts(self, tops: Any) -> list[int]:
        ranked: list[tuple[float, str]] = []
        for top in tops if isinstance(tops, list) else ():
            if isinstance(top, dict):
                ranked += [(lp, text) for text, lp in top.items() if isinstance(lp, (int, float))]
        by_text = self._by_text()
        return [by_text[text] for _, text in sorted(ranked, reverse=True) if text in by_text]

    def _by_text(self) -> dict[str, int]:
        if self._token_of_text is None:
            self._token_of_text = {}
            for token, piece in enumerate(self._pieces()):
                self._token_of_text.setdefault(piece.decode("utf-8", "replace"), token)
        return self._token_of_text

    def _healing(self) -> Respellings:
        if self._respellings is None:
            self._respellings = Respellings(vocab_of(self), self._pieces())
        return self._respellings

    def close(self) -> None:
        self._vocab.close()


def _api_key(settings: Settings) -> str | None:
    name = settings.engine_api_key_env.strip()
    if not name:
        return None
    key = os.environ.get(name)
    if not key:
        raise EngineError(f"engineApiKeyEnv names the environment variable {name}, which is not set")
    return key


def _endpoint(settings: Settings) -> Endpoint:
    kind = settings.engine
    if not settings.engine_url.strip():
        raise EngineError(f"engine is {kind!r} but engineUrl is empty; set it to the server's URL")
    what = "llama-server" if kind == "llama-server" else "OpenAI-compatible server"
    return Endpoint.parse(
        settings.engine_url,
        what,
        _api_key(settings),
        settings.engine_api_key_env.strip(),
        settings.engine_timeout_ms / 1000,
    )


def _server_facts(settings: Settings, endpoint: Endpoint) -> tuple[int, int, str]:
    """The context a request may use, the slot count (0: unknown) and the model's name, from the server."""
    n_ctx, slots, model = settings.n_ctx, 0, settings.engine_model
    if settings.engine == "llama-server":
        props = endpoint.get("/props")
        if not isinstance(props, dict):
            raise EngineError(f"the llama-server at {endpoint.url} answered /props with something unexpected")
        generation = props.get("default_generation_settings")
        server_ctx = generation.get("n_ctx") if isinstance(generation, dict) else None
        if isinstance(server_ctx, int) and server_ctx > 0:
            n_ctx = min(n_ctx, server_ctx)  # a slot's share of the server's context
        total = props.get("total_slots")
        slots = total if isinstance(total, int) and total > 0 else 0
        return n_ctx, slots, str(props.get("model_alias") or props.get("model_path") or "")
    listed = endpoint.get("/models" if endpoint.url.endswith("/v1") else "/v1/models")
    data = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(data, list):
        raise EngineError(f"the {endpoint.what} at {endpoint.url} answered /v1/models with something unexpected")
    first = data[0] if data and isinstance(data[0], dict) else {}
    limit = first.get("max_model_len")
    if isinstance(limit, int) and limit > 0:
        n_ctx = min(n_ctx, limit)
    return n_ctx, 0, model or str(first.get("id") or "")


def check_remote(settings: Settings) -> str:
    """`doctor`: whether the configured server answers, in one line; raises EngineError if not."""
    endpoint = _endpoint(settings)
    n_ctx, slots, model = _server_facts(settings, endpoint)
    return f"answers: model {model or '(unnamed)'}, n_ctx {n_ctx}" + (f", {slots} slots" if slots else "")


def load_remote_engine(settings: Settings, progress: Progress, model_file: Path | None = None) -> RemoteEngine:
    """The remote engine `settings` name; `model_file`, the model's GGUF when it is on this machine,
    gives the vocabulary (else llama-server's tokenizer does, without token healing)."""
    kind = settings.engine
    endpoint = _endpoint(settings)
    progress(f"Connecting to the {endpoint.what} at {endpoint.url}", 0, None)
    path = model_file
    facts: tuple[int, int, str] | None
    try:
        facts = _server_facts(settings, endpoint)
    except Unreachable as exc:
        if path is None:
            raise  # the vocabulary must come from the server
        # Everything but the server is here: start now, and ask it again at the next request.
        log.warning("%s", exc)
        facts = None
    vocab: Vocabulary
    if path is not None:
        from codellama_ls.engine.llama import LlamaVocab

        vocab = LlamaVocab(path)
    elif kind == "llama-server":
        assert facts is not None
        vocab = ServerVocab(endpoint, os.path.basename(facts[2]) or "llama-server")
    else:
        raise EngineError(
            "the openai engine builds token-exact prompts with the model's vocabulary: set `model` to the"
            " model's .gguf file (only its vocabulary is read, no weights)"
        )
    engine = RemoteEngine(settings, endpoint, vocab, facts)
    log.info("completions are computed by the %s", engine.info.where)
    return engine


def describe(settings: Settings) -> str:
    """Where completions are computed, for `doctor` (no connection made)."""
    if settings.engine == "local":
        return "in this process (llama.cpp through llama-cpp-python); nothing leaves the machine"
    url = settings.engine_url or "(engineUrl is empty)"
    return f"{settings.engine} at {url}"
