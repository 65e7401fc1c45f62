"""The next-edit benchmark's loop and report, with scripted predictors (no model)."""

from __future__ import annotations

from benchmarks.nextedit_bench import CONDITIONS, Prediction, report, run, score, select
from benchmarks.nextedit_cases import Edit, Situation
from benchmarks.nextedit_predict import ModelPredictor
from codellama_ls.engine.scripted import ScriptedEngine


def _true_edit(s: Situation) -> Edit:
    lines = s.text.split("\n")
    start = sum(len(line) + 1 for line in lines[: s.target.start])
    if s.target.old and s.target.new:
        end = start + len("\n".join(s.target.old))
        return Edit(start, end, "\n".join(s.target.new))
    if s.target.old:  # a deletion takes its lines' newlines with it
        return Edit(start, start + sum(len(line) + 1 for line in s.target.old), "")
    return Edit(start, start, "".join(line + "\n" for line in s.target.new))


def test_the_true_next_hunk_scores_full_marks_and_nothing_scores_none() -> None:
    situations = select("reported", 0, 0)
    assert len(situations) > 24
    asked: list[bool] = []

    def oracle_with_history(s: Situation, history: bool) -> Prediction:
        asked.append(history)
        target = s.target.start
        region = (max(0, target - 5), target + len(s.target.old) + 5)
        return (
            Prediction((_true_edit(s),), 1.0, region)
            if history
            else Prediction((), 2.0, region, dropped="changed nothing")
        )

    results = run(situations, oracle_with_history)
    assert asked.count(True) == asked.count(False) == len(situations)
    assert asked[:4] == [True, False, False, True]  # the order alternates
    assert all(o.found and o.exact and o.similarity == 1.0 and o.reachable for o in results["history"])
    assert not any(o.found or o.exact or o.similarity for o in results["no_history"])
    table = report(results)
    assert "| with the edit history | " in table and "| 100 % | 100 % | 1.00 |" in table
    assert "| no history (ablation) | " in table and "| 0 % | 0 % | 0.00 |" in table
    assert f"| edit similarity | {len(situations)} / 0 · +1.000" in table
    assert f"No edit offered (no history (ablation)): changed nothing {len(situations)}." in table
    assert "No edit offered (with the edit history)" not in table


def test_the_draw_is_the_same_for_a_seed_and_splits_stay_apart() -> None:
    first = [s.case.commit for s in select("reported", 5, 3)]
    assert first == [s.case.commit for s in select("reported", 5, 3)]
    assert len(set(first)) == 5
    dev = {s.case.repo for s in select("dev", 0, 0)}
    assert dev.isdisjoint({s.case.repo for s in select("reported", 0, 0)})
    assert set(CONDITIONS) == {"history", "no_history"}


def test_the_servers_prediction_path_maps_an_answer_back_onto_the_case() -> None:
    """A scripted engine (FIM format) that writes the true next region: every case whose next hunk lies
    in the region is found and exact, through the server's own request, prompt, parsing and drops."""
    wanted = {"region": ""}
    engine = ScriptedEngine(lambda _prompt: wanted["region"], n_ctx=32_768)
    predictor = ModelPredictor(engine)
    assert predictor.describe().startswith("fim format")
    reachable_cases = 0
    for s in select("reported", 0, 0):
        request = predictor.request(s, True)
        region = request.region
        wanted["region"] = s.expected[region.start : len(s.expected) - (len(s.text) - region.end)]
        outcome = score(s, "history", predictor.predict(s, True))
        if not outcome.reachable:
            continue
        reachable_cases += 1
        assert outcome.found and outcome.exact, (s.case.commit, outcome)
        prefix = engine.prompts[-1].prefix
        assert prefix.startswith("# Recent edits:" if s.case.language == "python" else "// Recent edits:")
        predictor.predict(s, False)
        assert "Recent edits" not in engine.prompts[-1].prefix
    assert reachable_cases >= 30
