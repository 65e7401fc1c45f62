"""What each completion request did, for `codellama/stats` and `codellama/status` (pure).

A request either ran the model (`RequestRecord`) or was answered from a cache
(`CacheHit`). Their JSON keys are a public interface: the README documents
them, the benchmarks and tests read them.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestRecord:
    """A request that ran (or was meant to run) the model. Times are milliseconds."""

    uri: str
    invoked: bool
    mode: str
    unit: str
    prompt_tokens: int
    reused_tokens: int
    evaluated_tokens: int
    generated_tokens: int
    prompt_ms: float
    first_token_ms: float
    queued_ms: float
    """From the request's arrival until the engine thread began it."""
    wait_ms: float
    """From submitting it until the engine thread began it: behind other work there."""
    engine_ms: float
    plan_ms: float
    post_ms: float
    total_ms: float
    overhead_ms: float
    """Everything but llama.cpp compute, waiting for the engine thread, and the deliberate debounce."""
    stop_reason: str

    def to_json(self) -> dict[str, Any]:
        # Fields in declaration order; not dataclasses.asdict, whose deep copy costs 30x more (status
        # answers serialise up to a thousand records).
        return dict(vars(self))


@dataclass(frozen=True)
class CacheHit:
    """A request answered without model work: `cache` is "type_through" or "in_flight"."""

    uri: str
    cache: str
    total_ms: float

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


Record = RequestRecord | CacheHit
# Prompts of at least this many tokens time the model's prompt speed; the last few of them are averaged.
_TIMED_PROMPT = 64
_TIMED_REQUESTS = 8


class RequestLog:
    """The most recent requests and how often each cache answered."""

    def __init__(self, size: int = 1000) -> None:
        self.recent: deque[Record] = deque(maxlen=size)
        self.cache_hits: dict[str, int] = {}

    def add(self, record: Record) -> None:
        if isinstance(record, CacheHit):
            self.cache_hits[record.cache] = self.cache_hits.get(record.cache, 0) + 1
        self.recent.append(record)
        log.info("completion %s", record.to_json())

    def prompt_speed(self) -> float | None:
        """Prompt tokens evaluated per second over the last few requests that evaluated a long
        prompt (short ones time llama.cpp's overhead, not its speed); None before any."""
        # Asked per keystroke: look back only until enough are found, not over the whole log.
        long: list[RequestRecord] = []
        for r in reversed(self.recent):
            if isinstance(r, RequestRecord) and r.evaluated_tokens >= _TIMED_PROMPT and r.prompt_ms > 0:
                long.append(r)
                if len(long) == _TIMED_REQUESTS:
                    break
        if not long:
            return None
        return sum(r.evaluated_tokens for r in long) / sum(r.prompt_ms for r in long) * 1000

    def recent_json(self) -> list[dict[str, Any]]:
        return [record.to_json() for record in self.recent]

    def stats(self) -> dict[str, Any]:
        """`codellama/stats`: per recent request, token counts, cache use and times (see the README)."""
        completed = [r for r in self.recent if isinstance(r, RequestRecord) and r.stop_reason != "cancelled"]
        prompt = sum(r.prompt_tokens for r in completed)
        reused = sum(r.reused_tokens for r in completed)
        return {
            "requests": self.recent_json(),
            "cache_hits": dict(self.cache_hits),
            "kv_reuse": round(reused / prompt, 4) if prompt else None,
        }
