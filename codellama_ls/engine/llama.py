"""The llama.cpp engine (llama-cpp-python).  The only module that imports llama_cpp.

One `Llama` per server, owned by the engine worker thread.  The prompt is
evaluated in batches of the model's full `n_batch`; a cancelled request stops
inside a batch through llama.cpp's abort callback, and the KV cache keeps the
longest common prefix with the previous prompt.  Greedy decoding can verify
tokens drafted by prompt lookup several at a time (speculative decoding).
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import dataclasses
import io
import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from codellama_ls.engine.base import (
    NEVER_ENDS,
    Cancelled,
    EngineError,
    GenerationRequest,
    GenerationStats,
    ModelInfo,
    PieceStream,
    Sampling,
    TimedGeneration,
    vocab_of,
)
from codellama_ls.engine.branch_budget import BranchBudget
from codellama_ls.engine.branches import Branches, Row, Trace
from codellama_ls.engine.kv_body import BODY, KvBody
from codellama_ls.engine.kv_states import SavedStates
from codellama_ls.engine.speculative import DraftLength, PromptLookup
from codellama_ls.engine.threads import choose_threads
from codellama_ls.prompts.families import CODE_LLAMA, Lookup, declared_ids, recognise, spelled_as
from codellama_ls.prompts.fim import fim_tokens_of
from codellama_ls.prompts.healing import Respellings

log = logging.getLogger(__name__)
llama_log = logging.getLogger("llama.cpp")

# A prompt that keeps fewer tokens than this of the KV cache, and evaluates many more, starts afresh.
_SCATTERED = 32
# llama_decode's status when the abort callback stopped it.
_ABORTED = 2
# Token healing's best candidates checked for ending where the tokenizer would end them.
_CHECKED_CANDIDATES = 16
_END_TEXTS = ("▁<EOT>", "<EOT>")
# Most alternatives' branches decoded together, each in a KV sequence of its own (2, 3, ...).
_BRANCHES = 8
_FIRST_BRANCH = BODY + 1
# Of the alternatives' share of time, the most their rows riding along the first generation may take
# (`BranchBudget`): the rest decodes them in lockstep after it. Riding is cheaper (a row shares the
# step's fixed cost) but bets on branches the first suggestion may end before.
_RIDING_PART = 0.6
# ggml log levels: 3 warn, 4 error; the rest (debug, info, continuation) is debug for us.
_LEVELS = {3: logging.WARNING, 4: logging.ERROR}


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineError(
            f"llama-cpp-python is not installed or failed to load ({exc}). "
            "Install it with `pip install llama-cpp-python` (see the README for GPU builds)."
        ) from exc
    _route_llama_logs(llama_cpp)
    return llama_cpp


_log_callback: Any = None


def _route_llama_logs(llama_cpp: Any) -> None:
    """Send llama.cpp's C logs to Python logging instead of the process's stderr."""
    global _log_callback
    if _log_callback is not None:
        return

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", "replace").rstrip()
        if message:
            llama_log.log(_LEVELS.get(level, logging.DEBUG), message)

    _log_callback = callback  # a reference keeps the ctypes thunk alive
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def supports_gpu_offload() -> bool:
    try:
        return bool(_import_llama().llama_supports_gpu_offload())
    except EngineError:
        return False


def llama_cpp_version() -> str:
    try:
        return str(_import_llama().__version__)
    except EngineError as exc:
        return f"unavailable: {exc}"


def _piece_of(llama_cpp: Any, vocab: Any, token: int, special: bool) -> bytes:
    # Our own call: llama-cpp-python 0.3.36's `token_to_piece` returns its whole
    # 32-byte buffer, NUL padding included, and truncates longer pieces.
    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(vocab, token, buf, size, 0, special)
        if n >= 0:
            return buf.raw[:n]
        size = -n


def _find_token(model: Any, texts: tuple[str, ...]) -> int:
    # GGUFs converted without tokenizer.ggml.eot_token_id still carry the token itself.
    wanted = set(texts)
    for token in range(model.n_vocab()):
        if model.token_get_text(token) in wanted:
            return token
    return -1


def _special_lookup(llama_cpp: Any, model: Any) -> Lookup:
    """The id of the special token spelled exactly `text`, from llama.cpp's own special-token parse
    (a few tokenizer calls, not a scan of a 150k vocabulary)."""

    def lookup(text: str) -> int | None:
        ids = model.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if len(ids) != 1:
            return None
        spelled = _piece_of(llama_cpp, model.vocab, ids[0], special=True).decode("utf-8", "replace")
        return ids[0] if spelled_as(spelled, text) else None

    return lookup


def _llama_cpp_fim_ids(llama_cpp: Any, model: Any) -> dict[str, int]:
    """The FIM ids llama.cpp resolved (metadata, else its own scan of known texts): a fallback for
    families our table lacks."""
    lc, vocab = llama_cpp, model.vocab
    roles = {"prefix": "pre", "suffix": "suf", "middle": "mid", "pad": "pad", "repo_name": "rep", "file_sep": "sep"}
    found = {}
    for role, name in roles.items():
        getter = getattr(lc, f"llama_vocab_fim_{name}", None)
        token = int(getter(vocab)) if getter is not None else -1
        if token >= 0:
            found[role] = token
    return found


def _vocab_info(llama_cpp: Any, model: Any, path: Path, n_ctx: int, gpu_layers: int) -> ModelInfo:
    """What the prompt builder needs from a model's vocabulary; `model` is an `_internals.LlamaModel`."""
    lc, vocab = llama_cpp, model.vocab
    metadata = model.metadata()
    end_tokens = {t for t in (model.token_eos(), model.token_eot()) if t >= 0}
    # The GGUF's own metadata first, then what llama.cpp resolved, then the family table's texts.
    declared = {**_llama_cpp_fim_ids(lc, model), **declared_ids(metadata)}
    found = recognise(_special_lookup(lc, model), declared)
    if found is not None and found.end is None and found.family is CODE_LLAMA:
        eot = _find_token(model, _END_TEXTS)
        found = dataclasses.replace(found, end=eot if eot >= 0 else None, stops=found.stops | {eot} - {-1})
    fim = fim_tokens_of(found)
    if found is not None:
        end_tokens |= found.stops
    add_bos = found.family.bos if found is not None else model.add_bos_token()
    bos = model.token_bos() if add_bos and model.token_bos() >= 0 else None
    probe = model.tokenize(b"x", add_bos=False, special=False)
    adds_space = b"".join(_piece_of(lc, vocab, t, special=False) for t in probe).startswith(b" ")
    eos = model.token_eos()
    return ModelInfo(
        path=str(path),
        name=str(metadata.get("general.name") or path.stem),
        n_ctx=n_ctx,
        n_vocab=model.n_vocab(),
        gpu_layers=gpu_layers,
        fim=fim,
        bos=bos,
        adds_space_prefix=adds_space,
        end_tokens=frozenset(end_tokens),
        eos=eos if eos >= 0 else None,
        chat_template=metadata.get("tokenizer.chat_template") or None,
        metadata_name=str(metadata.get("general.name") or ""),
    )


class LlamaVocab:
    """A GGUF's vocabulary alone (llama.cpp's vocab_only load: no weights, milliseconds), for an engine
    that runs the model elsewhere but builds its prompts here, token for token as the local engine does."""

    def __init__(self, path: Path) -> None:
        lc = _import_llama()
        if not path.is_file():
            raise EngineError(f"Model file not found: {path}")
        params = lc.llama_model_default_params()
        params.vocab_only = True
        try:
            # verbose=False would dup2() stdout away while loading, which swallows LSP messages on stdio.
            self._model = lc._internals.LlamaModel(path_model=str(path), params=params, verbose=True)
        except Exception as exc:
            raise EngineError(f"llama.cpp could not read the vocabulary of {path}: {exc}", str(path)) from exc
        self._lc = lc
        self.info = _vocab_info(lc, self._model, path, 0, 0)

    def tokenize(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def tokenize_special(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._model.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def piece_bytes(self, token: int) -> bytes:
        return _piece_of(self._lc, self._model.vocab, token, special=False)

    def token_text(self, token: int) -> str:
        return _piece_of(self._lc, self._model.vocab, token, special=True).decode("utf-8", "replace")

    def close(self) -> None:
        self._model.close()


class LlamaEngine(TimedGeneration):
    warms = True
    branches = True

    def __init__(
        self,
        path: Path,
        *,
        n_ctx: int = 4096,
        n_gpu_layers: int = -1,
        n_threads: int = 0,
        n_batch: int = 512,
        state_cache_mb: int = 1024,
    ) -> None:
        llama_cpp = _import_llama()
        if not path.is_file():
            raise EngineError(f"Model file not found: {path}", str(path))
        with path.open("rb") as handle:
            if handle.read(4) != b"GGUF":
                raise EngineError(
                    f"{path} is not a GGUF model file (wrong magic bytes); re-download or convert it.", str(path)
                )
        gpu_layers = n_gpu_layers
        if gpu_layers < 0:
            gpu_layers = -1 if llama_cpp.llama_supports_gpu_offload() else 0
        kwargs: dict[str, Any] = dict(
            model_path=str(path),
            n_ctx=n_ctx,
            n_batch=n_batch,
            n_gpu_layers=gpu_layers,
            # Read the weights, do not map the file: with a mapping, a model file truncated or
            # written over in place (`cp new.gguf model.gguf`) kills the process with SIGBUS at
            # the next decode, and no check before a request can close that race. The cost is
            # the read at load; on CPU the mapped copy is not even saved, since llama.cpp
            # repacks quantized weights into memory of its own (see benchmarks/README.md).
            use_mmap=False,
            # verbose=False would dup2() stdout to /dev/null while loading, which
            # swallows LSP messages on stdio; our log callback keeps it quiet instead.
            verbose=True,
        )
        # Decode steps and prompt batches on the physical cores, as llama-server: llama-cpp-python's
        # default decodes on half the logical CPUs (one thread of two on a 2-core machine).
        self._threads, self._threads_reason = choose_threads(n_threads)
        kwargs["n_threads"] = kwargs["n_threads_batch"] = self._threads
        # Room for the window's body (KV sequence 1, `KvBody`) beside the prompt.
        kwargs["n_ctx"] = cells = n_ctx + n_ctx // 2
        chatter = io.StringIO()
        try:
            # Llama(verbose=True) print()s its banner; keep it out of the user's terminal.
            with contextlib.redirect_stderr(chatter):
                self._llm = llama_cpp.Llama(**kwargs)
        except Exception as exc:
            raise EngineError(
                f"llama.cpp could not load {path}: {exc}. The file may be corrupt or truncated.", str(path)
            ) from exc
        finally:
            log.debug("llama.cpp: %s", chatter.getvalue().strip())
        self._llm.verbose = False  # no per-request print()s from Llama.generate
        self._llama_cpp = llama_cpp
        self._n_ctx = n_ctx
        two_sequences = self._enable_body_sequence()
        self._info = self._read_info(path, gpu_layers)
        self._kv_body = KvBody(self._llm._ctx, cells, self._info.fim, self._info.bos, enabled=two_sequences)
        # One decode now pages the weights in and sizes the compute buffers, so the first
        # completion does not pay for it.
        self._llm.eval([self._info.bos if self._info.bos is not None else 0])
        self._llm.n_tokens = 0
        self._stats = GenerationStats()
        self._all_pieces: list[bytes] | None = None
        self._current_key = ""
        self._states = SavedStates(state_cache_mb * 1024 * 1024)
        self._allowed: dict[bytes, np.ndarray] = {}
        self._respellings: Respellings | None = None
        self._rng = np.random.default_rng()
        self._abort_check: Cancelled | None = None
        self._abort_thunk = llama_cpp.ggml_abort_callback(self._should_abort)  # kept alive with the engine
        self.drafter: type[PromptLookup] = PromptLookup
        self.min_rows = 1  # 2: every greedy step decodes at least two rows (see `_greedy`)
        self._branches: Branches | None = None
        # What a step alone and a row more in it cost on this machine (`BranchBudget`), as last measured.
        self._step_costs: tuple[float | None, float | None] = (None, None)
        self._pieces()  # token healing's table, built once now rather than in a user's first request

    def _read_info(self, path: Path, gpu_layers: int) -> ModelInfo:
        # The prompt budget is the n_ctx asked for; the context has more cells, for the body.
        info = _vocab_info(self._llama_cpp, self._llm._model, path, self._n_ctx, gpu_layers)
        return dataclasses.replace(info, threads=self._threads, threads_reason=self._threads_reason)

    @property
    def info(self) -> ModelInfo:
        return self._info

    def tokenize(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def tokenize_special(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def _piece(self, token: int, special: bool) -> bytes:
        return _piece_of(self._llama_cpp, self._llm._model.vocab, token, special)

    def token_text(self, token: int) -> str:
        return self._piece(token, special=True).decode("utf-8", "replace")

    def piece(self, token: int) -> str:
        return self._piece(token, special=False).decode("utf-8", "replace")

    def _is_end(self, token: int) -> bool:
        return token in self._info.end_tokens or bool(self._llama_cpp.llama_vocab_is_eog(self._llm._model.vocab, token))

    def _generate(self, request: GenerationRequest, stats: GenerationStats) -> Iterator[str]:
        started = time.perf_counter()
        prompt, sampling, cancelled = request.prompt, request.sampling, request.cancelled
        constraint, key = request.constraint, request.key
        llm = self._llm
        if not prompt:
            return
        self._switch_document(key)
        if len(prompt) + sampling.max_tokens > self._info.n_ctx:
            raise EngineError(f"prompt of {len(prompt)} tokens leaves no room to generate in n_ctx={self._info.n_ctx}")
        self._take_body(prompt, sampling.max_tokens)
        reuse = self._reusable_prefix(prompt)
        if reuse < _SCATTERED and len(prompt) - reuse > 4 * _SCATTERED:
            reuse = self._start_afresh()
        stats.reused_tokens = reuse
        finished = self._eval_prompt(prompt, reuse, cancelled)
        if finished:
            self._keep_body(prompt)
        # Counted also when cancelled: a superseded request's evaluation is kept for the next one.
        stats.evaluated_tokens = self._llm.n_tokens - reuse
        if not finished:
            stats.stop_reason = "cancelled"
            return
        stats.prompt_ms = (time.perf_counter() - started) * 1000
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        context = list(prompt)
        if constraint:
            # Token healing: the prompt ends before the tokens the user's last characters belong to;
            # the first tokens must spell those characters out again, and the last may extend them.
            pending = constraint.encode("utf-8")
            while pending:
                token = self._constrained_token(pending, sampling)
                if token is None:
                    stats.stop_reason = "no token fits"
                    return
                spelled = self._piece(token, special=False)
                stats.generated_tokens += 1
                if stats.generated_tokens == 1:
                    stats.first_token_ms = (time.perf_counter() - started) * 1000
                yield decoder.decode(spelled)
                context.append(token)
                pending = pending[len(spelled) :]
                if cancelled():
                    stats.stop_reason = "cancelled"
                    return
                if pending:
                    llm.eval([token])  # logits for the next constrained choice
        tokens: Iterator[int]
        branches = self._branches if sampling.temperature <= 0 else None
        trace = branches.trace if branches is not None else None
        if trace is not None:
            trace.context = list(context)
        if sampling.temperature <= 0:
            tokens = self._greedy(context, bool(constraint), sampling, stats, branches)
        else:
            tokens = llm.generate(
                context,
                top_k=sampling.top_k,
                top_p=sampling.top_p,
                temp=sampling.temperature,
                repeat_penalty=1.0,
                min_p=0.0,
            )
        stats.stop_reason = "max_tokens"
        try:
            for token in tokens:
                if stats.generated_tokens == 0:
                    stats.first_token_ms = (time.perf_counter() - started) * 1000
                if self._is_end(token):
                    stats.stop_reason = "eot"
                    break
                stats.generated_tokens += 1
                if trace is not None:
                    stats.logprob += trace.logprobs[trace.taken]
                    trace.taken += 1
                piece = decoder.decode(self._piece(token, special=False))
                if piece:
                    yield piece
                if stats.generated_tokens >= sampling.max_tokens:
                    break
                if cancelled():
                    stats.stop_reason = "cancelled"
                    break
            else:
                stats.stop_reason = "end"
        finally:
            tokens.close()  # type: ignore[attr-defined]
            self._free_sampler()

    def generate_alternatives(self, request: GenerationRequest) -> Iterator[PieceStream]:
        """The generation, then up to `request.alternatives - 1` branches of it (`engine/branches.py`),
        each in a KV sequence of its own that shares the prompt's cells, decoded with the first
        generation's steps from the first place where the model hesitated: a row more in a step costs
        a fraction of a step, and only until its text is done by `request.end`. Greedy only (sampling
        yields the one generation), and only with the body's sequence (a context of one sequence has
        none to spare)."""
        count, sampling, cancelled = request.alternatives, request.sampling, request.cancelled
        if count <= 1 or sampling.temperature > 0 or not self._kv_body.enabled:
            yield self.generate(request)
            return
        llm = self._llm
        wanted = min(count - 1, _BRANCHES)
        end, constraint = request.end, request.constraint
        trace = Trace(others=wanted, piece=lambda token: self._piece(token, special=False), is_end=self._is_end)
        branches = self._branches = Branches(
            trace,
            wanted,
            sampling.max_tokens,
            _FIRST_BRANCH,
            copy=lambda sequence, end: llm._ctx.kv_cache_seq_cp(0, sequence, 0, end),
            drop=lambda sequence: llm._ctx.kv_cache_seq_rm(sequence, 0, -1),
            decode=self._decode_rows,
            cancelled=cancelled,
            finished=None if request.end == NEVER_ENDS else lambda text: end.done(text[len(constraint) :]),
            prompt_tokens=len(request.prompt),
            budget=BranchBudget(
                request.alternatives_share,
                request.alternatives_share * _RIDING_PART,
                step_s=self._step_costs[0],
                row_s=self._step_costs[1],
            ),
        )
        try:
            try:
                first = self.generate(request)
                yield first
            finally:
                self._branches = None
            first.close()
            if cancelled() or not trace.context or first.stats.stop_reason == "cancelled":
                return
            for index in branches.settle():
                stats = GenerationStats(prompt_tokens=len(request.prompt))
                pieces = branches.pieces(index, stats, len(request.prompt), lambda token: self._piece(token, False))
                yield PieceStream(pieces, stats)
        finally:
            branches.release()
            if branches.budget is not None:
                self._step_costs = branches.budget.step_s, branches.budget.row_s
            llm._requires_eval = True  # the logits are the branches'

    def _free_sampler(self) -> None:
        """Free the sampler chain `Llama.generate` made for this request, now.

        Each chain keeps a buffer of n_vocab token candidates (~375 KiB at 32k tokens) until it is
        freed, and llama-cpp-python's `LlamaSampler` sits in a reference cycle, so left alone it is
        freed by the cyclic garbage collector, dozens of requests late and out of order. Those late
        frees fragment the heap: RSS grew ~1-2 KiB per request without end (benchmarks/README.md)."""
        llm = self._llm
        sampler, llm._sampler = llm._sampler, None
        if sampler is not None:
            sampler.close()

    def _start_afresh(self) -> int:
        """Empty the KV cache, both sequences, and start filling it at its first cell: attention
        spans every cell up to the last one in use, so a prompt must not be written after cells left
        anywhere by a restored state or the body (`llama_memory_clear` resets where llama.cpp looks
        for free cells; removing the sequences does not). Kept, they made a far move's evaluation
        15-40 % slower than the same prompt in a new context."""
        self._kv_body.forget()
        self._llama_cpp.llama_memory_clear(self._llm._ctx.memory, False)
        self._llm.n_tokens = 0
        return 0

    def _switch_document(self, key: str) -> None:
        """Keep each document's KV cache: switching documents saves the current one's and restores
        the other's, so going back and forth costs a copy instead of re-evaluating the prompt."""
        if key == self._current_key:
            return
        lc, ctx, llm = self._llama_cpp, self._llm._ctx.ctx, self._llm
        if self._current_key and llm.n_tokens > 0 and self._states.budget > 0:
            size = lc.llama_state_seq_get_size(ctx, 0)
            if self._states.fits(size):
                buffer = (ctypes.c_uint8 * size)()
                written = lc.llama_state_seq_get_data(ctx, buffer, size, 0)
                ids = list(llm.input_ids[: llm.n_tokens])
                # string_at copies the bytes; bytes(buffer[:written]) would build a list of ints
                # first (~370 ms for the 20 MB of a 1,700-token prompt of a small model).
                self._states.save(self._current_key, ctypes.string_at(buffer, written), ids)
        self._current_key = key
        self._start_afresh()
        saved = self._states.take(key)
        if saved is None:
            return
        data, ids = saved
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if lc.llama_state_seq_set_data(ctx, buffer, len(data), 0) == len(data):
            llm.input_ids[: len(ids)] = ids
            llm.n_tokens = len(ids)

    def _pieces(self) -> list[bytes]:
        if self._all_pieces is None:
            self._all_pieces = [self._piece(t, special=False) for t in range(self._info.n_vocab)]
        return self._all_pieces

    def _healing(self) -> Respellings:
        if self._respellings is None:
            self._respellings = Respellings(vocab_of(self), self._pieces())
        return self._respellings

    def _constrained_token(self, pending: bytes, sampling: Sampling) -> int | None:
        """The best token whose text starts with all of `pending` or is a shorter part of it."""
        allowed = self._allowed.get(pending)
        if allowed is None:
            allowed = np.array(self._healing().candidates(pending), dtype=np.int64)
            if len(self._allowed) > 256:
                self._allowed.clear()
            self._allowed[pending] = allowed
        if allowed.size == 0:
            return None
        logits = np.ctypeslib.as_array(self._llm._ctx.get_logits(), shape=(self._info.n_vocab,))[allowed]
        logits = self._natural_respellings(allowed, logits, pending)
        if sampling.temperature <= 0:
            return int(allowed[int(np.argmax(logits))])
        weights = np.exp((logits - logits.max()) / sampling.temperature)
        return int(self._rng.choice(allowed, p=weights / weights.sum()))

    def _natural_respellings(self, allowed: np.ndarray, logits: np.ndarray, pending: bytes) -> np.ndarray:
        """`logits` with the best few candidates that would not re-spell the user's text as the
        tokenizer writes it before code masked (`Respellings.natural`: a token taking a whole
        indentation, or one making it deeper); unchanged when that leaves none of them."""
        healing = self._healing()
        masked = logits.copy()
        kept = False
        for index in np.argsort(logits)[::-1][:_CHECKED_CANDIDATES]:
            if healing.natural(int(allowed[index]), pending):
                kept = True
            else:
                masked[index] = -np.inf
        return masked if kept else logits

    def _reusable_prefix(self, prompt: list[int]) -> int:
        llm = self._llm
        n = min(llm.n_tokens, len(prompt))
        cached = np.asarray(llm.input_ids[:n])
        differ = np.flatnonzero(cached != np.asarray(prompt[:n], dtype=cached.dtype))
        common = int(differ[0]) if differ.size else n
        # At least one prompt token must be decoded so there are fresh logits to sample from.
        return min(common, len(prompt) - 1)

    def _eval_prompt(self, prompt: list[int], reuse: int, cancelled: Cancelled) -> bool:
        """Evaluate the prompt after its reused prefix in full batches; False when cancelled.

        A cancelled request stops inside a batch: llama.cpp asks the abort callback after every
        graph node on the CPU, drops the ubatch it was in and keeps the ones before it, which
        `_decode` records, so the next request reuses exactly what was evaluated.
        """
        llm = self._llm
        llm._ctx.kv_cache_seq_rm(-1, reuse, -1)
        llm.n_tokens = reuse
        with self._abortable(cancelled):
            for start in range(reuse, len(prompt), llm.n_batch):
                if cancelled():
                    return False
                chunk = prompt[start : start + llm.n_batch]
                if self._decode(chunk, logits_from=len(chunk) - 1) == _ABORTED:
                    return False
        return True

    def _should_abort(self, _data: object) -> bool:
        # Called from llama.cpp's compute thread, once per graph node: keep it to a flag read.
        check = self._abort_check
        return check is not None and check()

    @contextlib.contextmanager
    def _abortable(self, cancelled: Cancelled) -> Iterator[None]:
        """Let `cancelled` abort llama_decode while the prompt is evaluated, and only then: each
        check is a call into Python that needs the GIL."""
        lc, ctx = self._llama_cpp, self._llm._ctx.ctx
        self._abort_check = cancelled
        lc.llama_set_abort_callback(ctx, self._abort_thunk, None)
        try:
            yield
        finally:
            lc.llama_set_abort_callback(ctx, lc.ggml_abort_callback(), None)
            self._abort_check = None

    def _decode(self, tokens: Sequence[int], logits_from: int, extra: Sequence[Row] = ()) -> int:
        """One llama_decode of `tokens` after the cached ones, with logits for the positions from
        `logits_from` on, and after them the `extra` rows of other sequences (alternatives' branches),
        each with logits.  Returns its status (a failure with `extra` rows is returned, not raised);
        `input_ids`/`n_tokens` follow what the KV cache holds, an aborted decode's kept ubatches included."""
        llm, lc = self._llm, self._llama_cpp
        batch = llm._batch.batch
        past = llm.n_tokens
        count = len(tokens)
        batch.n_tokens = count + len(extra)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = past + i
            batch.seq_id[i][0] = 0
            batch.n_seq_id[i] = 1
            batch.logits[i] = i >= logits_from
        for i, (token, position, sequence) in enumerate(extra, start=count):
            batch.token[i], batch.pos[i], batch.seq_id[i][0], batch.n_seq_id[i], batch.logits[i] = (
                token,
                position,
                sequence,
                1,
                True,
            )
        status = int(lc.llama_decode(llm._ctx.ctx, batch))
        if status == 0:
            kept = count
        elif status == _ABORTED:
            kept = max(0, min(count, int(lc.llama_memory_seq_pos_max(llm._ctx.memory, 0)) + 1 - past))
        elif extra:
            return status
        else:
            raise EngineError(f"llama_decode failed (status {status}) on {count} tokens after {past}")
        llm.input_ids[past : past + kept] = tokens[:kept]
        llm.n_tokens = past + kept
        llm._requires_eval = status != 0  # Llama.generate may sample from these logits only if they are live
        return status

    def _decode_rows(self, rows: list[Row]) -> np.ndarray | None:
        """The alternatives' branches after the first generation: one row each, in one llama_decode on
        the generation threads; their logits (a copy), or None when it failed (no room in the cache)."""
        llm, lc = self._llm, self._llama_cpp
        batch = llm._batch.batch
        # Two rows at least, as `_greedy` with `min_rows` 2: one-row decodes round differently.
        padding = [(rows[0][0], rows[0][1] + 1, rows[0][2])] * (self.min_rows - len(rows))
        batch.n_tokens = len(rows) + len(padding)
        for i, (token, position, sequence) in enumerate([*rows, *padding]):
            batch.token[i], batch.pos[i], batch.seq_id[i][0], batch.n_seq_id[i] = token, position, sequence, 1
            batch.logits[i] = i < len(rows)
        ctx = llm._ctx.ctx
        threads = llm.context_params.n_threads, llm.context_params.n_threads_batch
        lc.llama_set_n_threads(ctx, threads[0], threads[0])
        try:
            status = int(lc.llama_decode(ctx, batch))
        finally:
            lc.llama_set_n_threads(ctx, *threads)
        llm._requires_eval = True
        for _, position, sequence in padding:
            llm._ctx.kv_cache_seq_rm(sequence, position, -1)
        if status != 0:
            return None
        logits = np.ctypeslib.as_array(lc.llama_get_logits(ctx), shape=(len(rows), self._info.n_vocab))
        return np.array(logits)

    def _greedy(
        self,
        history: list[int],
        pending: bool,
        sampling: Sampling,
        stats: GenerationStats,
        branches: Branches | None = None,
    ) -> Iterator[int]:
        """Greedy tokens straight from llama_decode's logits (no sampler), several per step when prompt
        lookup drafts them and the model agrees.

        A step decodes the last token, and after it the drafted ones when the history's tail occurred
        earlier: the model's greedy choice after each row checks the next draft token, the matching
        prefix is kept and the rejected rest is removed from the KV cache.  `history` is the prompt
        plus tokens already produced; with `pending`, its last token is not in the KV cache yet.

        Rounding: llama.cpp's CPU kernels for one row and for several round differently (the same
        position's logits differ by up to ~0.6 between a 1-row and a k-row decode of SmolLM2, while
        all k >= 2 agree exactly), so where two candidates are that close, a token verified in a
        batch can differ from the one a 1-row step picks.  `min_rows` 2 pads every step to two rows:
        the output is then bit-identical whatever was drafted (the tests' reference), at the price
        of a second row per undrafted step.

        With `branches` (alternatives), each step notes its choices and their runners-up in their
        trace and also decodes one row for each branch that may go on (`Branches.rows`); its steps
        are then of several rows, so near-ties may break as with `min_rows` 2.
        """
        llm, lc = self._llm, self._llama_cpp
        ctx = llm._ctx.ctx
        n_vocab = self._info.n_vocab
        lookup = self.drafter(history) if sampling.draft_tokens > 0 else None
        length = DraftLength(min(sampling.draft_tokens, llm.n_batch - 1 - _BRANCHES))
        trace = branches.trace if branches is not None else None
        last = history[-1]
        if pending:
            rows: list[int] = []
        else:
            row = np.ctypeslib.as_array(lc.llama_get_logits_ith(ctx, -1), shape=(n_vocab,))
            rows = [int(row.argmax())]
            if trace is not None:
                trace.note(row, rows[0])
        drafted = accepted = 0
        step_started, stepped = 0.0, None
        if branches is not None:
            branches.prompt(stats.prompt_ms / 1000)
        # Verification batches are a few rows: run them on the generation threads, as one-token
        # steps are, not on the prompt's batch threads.
        threads = llm.context_params.n_threads, llm.context_params.n_threads_batch
        lc.llama_set_n_threads(ctx, threads[0], threads[0])
        try:
            while True:
                for token in rows:
                    yield token
                    if lookup is not None:
                        lookup.append(token)
                    last = token
                # The consumer counted every token it took; one more comes from the decode itself.
                room = sampling.max_tokens - stats.generated_tokens - 1
                draft = lookup.draft(min(length.length, room)) if lookup is not None else []
                batch = [last, *draft]
                extra = branches.rows() if branches is not None else []
                batch += [last] * (self.min_rows - len(batch) - len(extra))  # padding rows: decoded, then dropped
                past = llm.n_tokens
                if branches is not None:
                    # A step's time runs from one decode to the next: the branches' bookkeeping and
                    # the consumer's reading are in it, each step the branches ride in costs them.
                    now = time.perf_counter()
                    if stepped is not None:
                        branches.stepped(now - step_started, *stepped)
                    step_started = now
                if self._decode(batch, logits_from=0, extra=extra) != 0:
                    assert branches is not None
                    branches.took(None, extra)  # no room for them: the first generation goes on alone
                    extra = []
                    batch += [last] * (self.min_rows - len(batch))
                    self._decode(batch, logits_from=0)
                logits = np.ctypeslib.as_array(lc.llama_get_logits(ctx), shape=(len(batch) + len(extra), n_vocab))
                if branches is not None and extra:
                    branches.took(logits[len(batch) :], extra)
                stepped = (1 + len(draft), len(extra))
                choices = logits[: len(batch)].argmax(axis=1).tolist()
                agreed = 0
                while agreed < len(draft) and choices[agreed] == draft[agreed]:
                    agreed += 1
                if 1 + agreed < len(batch):
                    llm._ctx.kv_cache_seq_rm(0, past + 1 + agreed, -1)
                    llm.n_tokens = past + 1 + agreed
                if draft:
                    length.update(len(draft), agreed)
                    drafted += len(draft)
                    accepted += agreed
                    stats.drafted_tokens, stats.accepted_tokens = drafted, accepted
                rows = choices[: agreed + 1]
                if trace is not None:
                    for index, token in enumerate(rows):
                        trace.note(logits[index], token)
        finally:
            if branches is not None and stepped is not None:
                branches.stepped(time.perf_counter() - step_started, *stepped)  # the last step's reading
            lc.llama_set_n_threads(ctx, *threads)

    # -- the window's body: KV sequence 1 (`engine/kv_body.py` keeps its bookkeeping) ---------------

    def _take_body(self, prompt: list[int], max_tokens: int) -> None:
        """Start sequence 0 from the body when the body holds more of this prompt (`KvBody.take`)."""
        llm = self._llm
        taken = self._kv_body.take(prompt, llm.input_ids[: llm.n_tokens], max_tokens)
        if taken:
            llm.input_ids[:taken] = prompt[:taken]
            llm.n_tokens = taken

    def _keep_body(self, prompt: list[int]) -> None:
        """After `prompt` is evaluated, its lines become the body's beginning (`KvBody.keep`)."""
        self._kv_body.keep(prompt)

    def _enable_body_sequence(self) -> bool:
        """Recreate the context with two sequences in one unified KV cache (llama-cpp-python's
        Llama has no parameter for it)."""
        from llama_cpp import _internals

        llm = self._llm
        params = llm.context_params
        # Sequence 1 the body, 2 on the branches of alternatives (`_Branches`); one unified cache.
        params.n_seq_max, params.kv_unified = 2 + _BRANCHES, True
        # Flash attention where the backend has it, as llama-server's default: on CPU a 2,000-token
        # prompt evaluates 17-29 % faster (llama-cpp-python's default is off).
        params.flash_attn_type = self._llama_cpp.LLAMA_FLASH_ATTN_TYPE_AUTO
        llm._ctx.close()
        try:
            llm._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
            return True
        except ValueError:
            log.warning("llama.cpp could not make a context with two sequences; cursor moves re-evaluate more")
            params.n_seq_max, params.kv_unified = 1, False
            llm._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
            return False

    def warm(self, body: list[int], key: str, cancelled: Cancelled) -> int:
        """Evaluate the window's lines that the body lacks (the engine is otherwise idle); stops
        when `cancelled()`. Returns the tokens evaluated."""
        if not self._kv_body.enabled or key != self._current_key or not body:
            return 0
        llm, lc = self._llm, self._llama_cpp
        size = llm.n_batch
        batch = lc.llama_batch_init(size, 0, 1)

        def decode(part: list[int], start: int) -> bool:
            batch.n_tokens = len(part)
            for i, token in enumerate(part):
                batch.token[i], batch.pos[i] = token, start + i
                batch.n_seq_id[i], batch.seq_id[i][0] = 1, BODY
                batch.logits[i] = i == len(part) - 1
            return int(lc.llama_decode(llm._ctx.ctx, batch)) == 0

        try:
            # Whole batches, aborted inside llama_decode when the next request arrives.
            with self._abortable(cancelled):
                done = self._kv_body.warm(body, llm.n_tokens, size, decode, cancelled)
        finally:
            lc.llama_batch_free(batch)
        # The logits are the body's now: the next request must decode before it samples.
        llm._requires_eval = True
        return done

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None
