"""Request records: the JSON keys that codellama/stats and codellama/status answer with."""

from __future__ import annotations

from codellama_ls.completion.records import CacheHit, RequestLog, RequestRecord


def test_records_serialise_with_the_documented_keys() -> None:
    times = (1.0, 2.0, 3.0, 0.5, 4.0, 0.3, 0.2, 9.0, 1.5)
    record = RequestRecord("file:///a.py", False, "spm", "line", 10, 8, 2, 3, *times, "eot")
    assert list(record.to_json()) == [
        "uri",
        "invoked",
        "mode",
        "unit",
        "prompt_tokens",
        "reused_tokens",
        "evaluated_tokens",
        "generated_tokens",
        "prompt_ms",
        "first_token_ms",
        "queued_ms",
        "wait_ms",
        "engine_ms",
        "plan_ms",
        "post_ms",
        "total_ms",
        "overhead_ms",
        "stop_reason",
    ]
    log = RequestLog()
    log.add(record)
    log.add(CacheHit("file:///a.py", "type_through", 0.1))
    stats = log.stats()
    assert stats["requests"][1] == {"uri": "file:///a.py", "cache": "type_through", "total_ms": 0.1}
    assert stats["cache_hits"] == {"type_through": 1} and stats["kv_reuse"] == 0.8
