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


def test_prompt_speed_is_timed_on_long_prompts_only() -> None:
    def ran(evaluated: int, prompt_ms: float) -> RequestRecord:
        times = (prompt_ms, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        return RequestRecord("file:///a.py", False, "line", "line", evaluated, 0, evaluated, 1, *times, "eot")

    log = RequestLog()
    assert log.prompt_speed() is None
    log.add(ran(1, 50.0))  # a keystroke: llama.cpp's overhead, not its speed
    assert log.prompt_speed() is None
    log.add(ran(1800, 20_000.0))
    log.add(ran(200, 2_000.0))
    log.add(CacheHit("file:///a.py", "type_through", 0.1))
    assert log.prompt_speed() == 2000 / 22_000 * 1000
