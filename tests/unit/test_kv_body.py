"""The window's body (KV sequence 1): what is copied, trimmed and evaluated, against a fake KV cache.

The llama-backed behaviour (moves that evaluate little) is in test_moves.py; this is the bookkeeping."""

from __future__ import annotations

from codellama_ls.engine.kv_body import BODY, PROMPT, KvBody, lines_end
from codellama_ls.prompts.fim import FimTokens

BOS = 1
FIM = FimTokens(prefix=3, suffix=4, middle=5, end=6)
REPO = FimTokens(prefix=3, suffix=4, middle=5, end=6, repo_name=7, file_sep=8)


class FakeCells:
    """Two KV sequences as token lists (positions are indexes), logging each operation."""

    def __init__(self) -> None:
        self.seqs: dict[int, list[int]] = {PROMPT: [], BODY: []}
        self.ops: list[tuple[str, int, int, int]] = []

    def kv_cache_seq_rm(self, seq_id: int, p0: int, p1: int) -> bool:
        self.ops.append(("rm", seq_id, p0, p1))
        assert p1 == -1
        del self.seqs[seq_id][p0:]
        return True

    def kv_cache_seq_cp(self, seq_id_src: int, seq_id_dst: int, p0: int, p1: int) -> None:
        self.ops.append(("cp", seq_id_src, seq_id_dst, p0))
        assert len(self.seqs[seq_id_dst]) == p0, "a copy continues the destination"
        self.seqs[seq_id_dst] += self.seqs[seq_id_src][p0:p1]


def line_prompt(lines: list[int], after: list[int], head: list[int]) -> list[int]:
    return [BOS, FIM.prefix, *lines, FIM.suffix, *after, FIM.middle, *head]


def evaluated(cells: FakeCells, body: KvBody, prompt: list[int], max_tokens: int = 8) -> None:
    """What the engine does around an evaluation: take, evaluate the rest into sequence 0, keep."""
    taken = body.take(prompt, cells.seqs[PROMPT], max_tokens)
    if taken:
        assert cells.seqs[PROMPT] == prompt[:taken]
    cells.seqs[PROMPT] = list(prompt)
    body.keep(prompt)


def test_lines_end_is_the_suffix_token_of_line_and_psm_prompts_only() -> None:
    prompt = line_prompt([20, 21], [30], [40])
    assert lines_end(prompt, FIM, BOS) == 4 and prompt[4] == FIM.suffix
    assert lines_end([BOS, FIM.suffix, 30, FIM.prefix, 20], FIM, BOS) == 0  # SPM: suffix first
    assert lines_end([BOS, 20, 21], None, BOS) == 0  # no FIM
    repo = [7, 50, 8, 51, REPO.prefix, 20, REPO.suffix, 30, REPO.middle]  # <repo_name> 50 <file_sep> 51 ...
    assert lines_end(repo, REPO, None) == 6  # the repository header is part of the lines


def test_an_evaluated_prompt_lends_its_lines_to_the_body_and_a_move_up_takes_them_back() -> None:
    cells = FakeCells()
    body = KvBody(cells, cells=100, fim=FIM, bos=BOS)
    first = line_prompt([20, 21, 22, 23], [30], [40])
    evaluated(cells, body, first)
    assert body.tokens == first[:6] == cells.seqs[BODY] and body.shared == 6
    # Another document's prompt evaluated in sequence 0 meanwhile; then a move up in this one.
    cells.seqs[PROMPT] = [BOS, 99]
    up = line_prompt([20, 21], [22, 23, 30], [41])
    assert body.take(up, cells.seqs[PROMPT], 8) == 4
    assert cells.seqs[PROMPT] == up[:4] and body.shared == 4


def test_warming_evaluates_the_rest_of_the_window_in_batches_and_stops_when_cancelled() -> None:
    cells = FakeCells()
    body = KvBody(cells, cells=100, fim=FIM, bos=BOS)
    evaluated(cells, body, line_prompt([20, 21], [30], [40]))
    window = [BOS, FIM.prefix, *range(20, 30)]
    decoded: list[tuple[int, int]] = []

    def decode(part: list[int], start: int) -> bool:
        decoded.append((start, len(part)))
        cells.seqs[BODY] += part
        return True

    stop = [False]

    def cancelled() -> bool:
        return stop[0]

    def decode_then_stop(part: list[int], start: int) -> bool:
        stop[0] = True
        return decode(part, start)

    assert body.warm(window, len(cells.seqs[PROMPT]), 3, decode_then_stop, cancelled) == 3
    assert decoded == [(4, 3)] and body.tokens == window[:7]
    stop[0] = False
    assert body.warm(window, len(cells.seqs[PROMPT]), 3, decode, cancelled) == 5
    assert body.tokens == window == cells.seqs[BODY]
    # A move down now finds its lines in the body.
    down = line_prompt(list(range(20, 28)), [28, 29, 30], [40])
    assert body.take(down, cells.seqs[PROMPT], 8) == 10 and cells.seqs[PROMPT] == down[:10]


def test_an_unfinished_batch_leaves_nothing_behind() -> None:
    cells = FakeCells()
    body = KvBody(cells, cells=100, fim=FIM, bos=BOS)
    window = [BOS, FIM.prefix, 20, 21, 22]

    def aborted(part: list[int], start: int) -> bool:
        cells.seqs[BODY] += part[:1]  # llama.cpp keeps the ubatches finished before the abort
        return False

    assert body.warm(window, 0, 8, aborted, lambda: False) == 0
    assert body.tokens == [] and cells.seqs[BODY] == []


def test_a_body_from_other_text_is_trimmed_where_the_prompt_parts_from_it() -> None:
    cells = FakeCells()
    body = KvBody(cells, cells=100, fim=FIM, bos=BOS)
    evaluated(cells, body, line_prompt([20, 21, 22, 23], [30], [40]))
    edited = line_prompt([20, 25, 22, 23], [30], [40])  # a line above was edited
    body.take(edited, cells.seqs[PROMPT], 8)
    assert body.tokens == [BOS, FIM.prefix, 20] == cells.seqs[BODY]


def test_the_body_gives_way_when_the_prompt_and_its_generation_would_not_fit() -> None:
    cells = FakeCells()
    body = KvBody(cells, cells=20, fim=FIM, bos=BOS)
    window = [BOS, FIM.prefix, *range(20, 32)]

    def decode(part: list[int], start: int) -> bool:
        cells.seqs[BODY] += part
        return True

    body.warm(window, 0, 64, decode, lambda: False)
    assert len(body.tokens) == 14
    other = [BOS, 90, 91, 92, 93, 94]  # shares only BOS: 1 shared cell at most
    body.take(other, cells.seqs[PROMPT], 8)
    # 6 prompt + 8 generated + 1 + body - shared <= 20 cells
    assert len(other) + 8 + 1 + len(body.tokens) - body.shared <= 20
    assert cells.seqs[BODY] == body.tokens


def test_forget_and_a_context_without_a_second_sequence() -> None:
    cells = FakeCells()
    body = KvBody(cells, cells=100, fim=FIM, bos=BOS)
    evaluated(cells, body, line_prompt([20, 21], [30], [40]))
    body.forget()
    assert body.tokens == [] and body.shared == 0
    off = KvBody(cells, cells=100, fim=FIM, bos=BOS, enabled=False)
    cells.ops.clear()
    prompt = line_prompt([20, 21], [30], [40])
    assert off.take(prompt, [], 8) == 0
    off.keep(prompt)
    assert off.warm(prompt, 0, 8, lambda part, start: True, lambda: False) == 0
    assert cells.ops == [] and off.tokens == []
