import re
import sqlite3

import pytest

from sftlab.analysis.sources import read_store
from sftlab.analysis.tables import (
    read_csv,
    results_table,
    results_tables,
    to_csv,
    to_html,
    to_latex,
    to_markdown,
)
from sftlab.errors import ConfigError
from sftlab.stats import wilson_interval
from sftlab.store import Metric, ResultsStore


def _rate(split, metric, k, n):
    low, high = wilson_interval(k, n)
    return Metric(split, metric, k / n, n, low, high)


@pytest.fixture
def gp_store(tmp_path):
    """A GP store with known numbers: a run at steps 0 (base), 10 and 20, oracle, and an unknown split."""
    store = ResultsStore(tmp_path)
    splits = ["fake", "large", "id", "all_5", "5cards", "all_7", "all_5_fake", "mystery_split"]
    values = {
        ("base", 0): [1, 2, 3, 4, 5, 6, 7, 8],
        ("checkpoint-10", 10): [10, 20, 30, 40, 50, 60, 70, 80],
        ("checkpoint-20", 20): [11, 21, 31, 41, 51, 61, 71, 81],
    }
    for (checkpoint, step), ks in values.items():
        store.record(f"k-{checkpoint}", run="sft-a", checkpoint=checkpoint, step=step, suite="gp-eval",
                     metrics=[_rate(s, "acc", k, 500) for s, k in zip(splits, ks, strict=True)])
    store.record("k-b20", run="sft-b", checkpoint="checkpoint-20", step=20, suite="gp-eval",
                 metrics=[_rate(s, "acc", 100, 500) for s in splits] + [_rate("id", "valid", 480, 500)])
    store.record("k-oracle", run="oracle", checkpoint="oracle", suite="gp-eval",
                 metrics=[_rate(s, "acc", 500, 500) for s in splits])
    yield store
    store.close()


def test_cells_are_the_stored_numbers_at_the_last_checkpoint(gp_store):
    table = results_table(gp_store, "gp-eval")
    assert table.metric == "acc"
    assert [(r.label, r.kind) for r in table.rows] == [
        ("base", "base"), ("sft-a @20", "run"), ("sft-b @20", "run"), ("oracle", "reference")]
    for row in table.rows:
        for split, cell in row.cells.items():
            [stored] = gp_store.query(run=row.run if row.kind != "base" else "sft-a", checkpoint=row.checkpoint,
                                      suite="gp-eval", split=split, metric="acc")
            assert (cell.value, cell.ci_low, cell.ci_high, cell.n) == (
                stored.value, stored.ci_low, stored.ci_high, stored.n)


def test_column_groups_use_paper_order_and_short_labels(gp_store):
    table = results_table(gp_store, "gp-eval")
    assert [c.label for c in table.columns] == [
        "ID", "All-5", "All-7", "Fake", "Fake-JQK", "5 Cards", "Large", "mystery_split"]
    assert [g for g, _ in table.groups] == ["ID", "Instruction variants", "Fake", "Difficulty variants", "Other"]


def test_best_is_marked_excluding_oracle_and_fake(gp_store):
    table = results_table(gp_store, "gp-eval")
    by_label = {r.label: r for r in table.rows}
    assert by_label["sft-b @20"].cells["id"].best  # 100/500 beats 31/500
    assert not by_label["sft-a @20"].cells["id"].best
    assert not any(c.best for c in by_label["oracle"].cells.values())  # the oracle is never "best"
    assert not any(r.cells["all_5_fake"].best or r.cells["fake"].best for r in table.rows)


def test_step_option_and_missing_step_note(gp_store):
    table = results_table(gp_store, "gp-eval", step=10)
    assert [r.label for r in table.rows] == ["base", "sft-a @10", "oracle"]
    assert table.rows[1].cells["id"].value == 30 / 500
    assert table.notes and "sft-b has no checkpoint at step 10" in table.notes[0]


def test_validity_on_demand_and_missing_cells(gp_store):
    tables = results_tables(gp_store)
    assert [t.metric for t in tables] == ["acc", "valid"]
    valid = tables[1]
    assert [c.split for c in valid.columns] == ["id"]
    assert [r.label for r in valid.rows] == ["sft-b @20"]
    assert "| sft-b @20 | 96.0 [" in to_markdown(valid)
    gp_store.record("k-c", run="sft-c", checkpoint="checkpoint-5", step=5, suite="gp-eval",
                    metrics=[_rate("id", "acc", 5, 500)])
    row = next(r for r in results_table(gp_store, "gp-eval").rows if r.run == "sft-c")
    assert row.cells["id"].value == 0.01 and row.cells["all_5"] is None
    assert "| sft-c @5 | 1.0 [" in to_markdown(results_table(gp_store, "gp-eval")) and "| – |" in to_markdown(
        results_table(gp_store, "gp-eval"))


def test_markdown_shows_percent_interval_and_bold_best(gp_store):
    text = to_markdown(results_table(gp_store, "gp-eval"))
    low, high = wilson_interval(100, 500)
    assert f"**20.0 [{100 * low:.1f}–{100 * high:.1f}]**" in text
    assert "| run | ID | All-5 |" in text


def test_csv_round_trip_is_lossless(gp_store, tmp_path):
    table = results_table(gp_store, "gp-eval")
    path = tmp_path / "t.csv"
    to_csv(table, path)
    rows = read_csv(path)
    assert len(rows) == sum(c is not None for r in table.rows for c in r.cells.values())
    for back in rows:
        row = next(r for r in table.rows if r.run == back["run"] and r.checkpoint == back["checkpoint"])
        cell = row.cells[back["split"]]
        assert (back["value"], back["ci_low"], back["ci_high"], back["n"], back["best"]) == (
            cell.value, cell.ci_low, cell.ci_high, cell.n, cell.best)
        assert back["step"] == row.step


def _check_latex_shape(text: str, ncols: int) -> None:
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", text):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"unbalanced \\end{{{name}}}"
    assert not stack, f"unclosed environments {stack}"
    depth = 0
    for ch in re.sub(r"\\[{}%&_#$]", "", text):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0, "unbalanced braces"
    assert not re.search(r"(?<!\\)%", text), "an unescaped % would comment out the rest of a line"
    body = text.split(r"\midrule", 1)[1].split(r"\bottomrule")[0]
    for line in body.splitlines():
        if line.endswith(r"\\"):
            assert len(re.findall(r"(?<!\\)&", line)) == ncols, line


def test_latex_is_balanced_booktabs(gp_store):
    table = results_table(gp_store, "gp-eval")
    text = to_latex(table, caption="GP 100% & more_text", label="tab:gp")
    _check_latex_shape(text, len(table.columns))
    for needle in (r"\toprule", r"\midrule", r"\bottomrule", r"\cmidrule(lr){2-2}", r"\textbf{20.0}",
                   r"\multicolumn{2}{c}{Fake}", r"mystery\_split", r"GP 100\% \& more\_text"):
        assert needle in text


def test_html_table_has_group_header_and_best_class(gp_store):
    text = to_html(results_table(gp_store, "gp-eval"))
    assert text.count('class="group"') == 5 and 'class="best"' in text and "<caption>" in text


def test_errors_are_clear(tmp_path, gp_store):
    with ResultsStore(tmp_path / "empty") as empty:
        with pytest.raises(ConfigError, match="empty"):
            results_table(empty)
    gp_store.record("k-s", run="x", checkpoint="checkpoint-1", step=1, suite="sokoban-eval",
                    metrics=[_rate("SimpleSokoban", "success", 1, 10)])
    with pytest.raises(ConfigError, match="several suites"):
        results_table(gp_store)
    with pytest.raises(ConfigError, match="no metric 'nope'"):
        results_table(gp_store, "gp-eval", metric="nope")
    with pytest.raises(ConfigError, match="no results for suite"):
        results_table(gp_store, "countdown-eval")


def test_foreign_schema_store_is_read_with_a_notice(tmp_path, gp_store):
    path = gp_store.path
    gp_store.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    rows, notices = read_store(path)
    assert rows and "schema version 99" in notices[0]
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "results.sqlite").write_text("not a database")
    rows, notices = read_store(tmp_path / "junk" / "results.sqlite")
    assert rows == [] and "left out" in notices[0]


def test_a_column_where_every_row_ties_has_no_best(tmp_path):
    with ResultsStore(tmp_path) as store:
        for run in ("a", "b"):
            store.record(run, run=run, checkpoint="checkpoint-1", step=1, suite="s",
                         metrics=[_rate("id", "acc", 0, 2), _rate("all_5", "acc", 1 if run == "a" else 0, 2)])
        table = results_table(store)
    assert not any(r.cells["id"].best for r in table.rows)
    assert [r.cells["all_5"].best for r in table.rows] == [True, False]


def test_sokoban_tables_show_both_validities_and_the_prompt_protocol(tmp_path):
    """The paper's action_is_valid and sftlab's validity_all_episodes each get a table; the caption names the
    prompt protocol the numbers were evaluated under."""
    store = ResultsStore(tmp_path)
    metrics = [_rate("SimpleSokoban", "success", 5, 10), _rate("SimpleSokoban", "action_is_valid", 6, 8),
               _rate("SimpleSokoban", "validity_all_episodes", 6, 10)]
    store.record("k-paper", run="sft", checkpoint="checkpoint-5", step=5, suite="sokoban-eval", metrics=metrics,
                 settings={"prompt_protocol": "paper"})
    store.close()
    tables = results_tables(tmp_path)
    assert [t.metric for t in tables] == ["success", "action_is_valid", "validity_all_episodes"]
    assert all(t.title.endswith("[prompts: paper]") for t in tables)
    text = "\n".join(to_markdown(t) for t in tables)
    assert "75.0" in text and "60.0" in text and "[prompts: paper]" in text


def test_two_evaluations_of_one_cell_show_the_latest_with_a_note_never_silently(tmp_path):
    """Issue 26: `sftlab eval --backend random --episodes 20` then `--episodes 5` into one folder."""
    from sftlab.evaluate import EvalConfig, evaluate

    for episodes in (20, 5):
        evaluate(EvalConfig(model="random", backend="random", suite="gp-eval", episodes=episodes,
                            out=str(tmp_path)), progress=False)
    table = results_table(tmp_path, "gp-eval")
    [row] = table.rows
    cells = [c for c in row.cells.values() if c is not None]
    assert cells and all(c.others == 1 for c in cells)
    assert {c.n for c in cells} <= {1, 2, 3, 4, 5}  # the latest evaluation (5 episodes in all)
    [note] = [n for n in table.notes if "2 evaluations are stored" in n]
    assert "episodes=5" in note and "episodes=20" in note and "latest (episodes=5" in note
    markdown = to_markdown(table)
    assert "*" in markdown.split("\n")[4] and note in markdown
    assert "several evaluations stored" in to_html(table) and r"$^*$" in to_latex(table)
    chosen = results_table(tmp_path, "gp-eval", where={"episodes": "20"})  # the choice by flag: --where
    assert not chosen.notes and all(c.others == 0 and c.n > 5 for c in chosen.rows[0].cells.values() if c)
    with pytest.raises(ConfigError, match="the store has episodes: 20, 5"):
        results_table(tmp_path, "gp-eval", where={"episodes": "7"})


def test_runs_named_alike_from_different_model_folders_keep_their_own_rows(tmp_path):
    with ResultsStore(tmp_path) as store:
        for i, value in ((1, 0.25), (2, 0.75)):
            store.record(f"k{i}", run="model", checkpoint="checkpoint-5", step=5, suite="gp-eval",
                         metrics=[Metric("id", "acc", value, 4)],
                         settings={"episodes": 4, "model": f"/tmp/x{i}/model", "fingerprint": f"f{i}"})
    table = results_table(tmp_path, "gp-eval")
    assert sorted((r.label, r.cells["id"].value) for r in table.rows) == [
        ("model [x1/model] @5", 0.25), ("model [x2/model] @5", 0.75)]
    assert any("evaluated from 2 different models" in n for n in table.notes)
    assert not any(c.others for r in table.rows for c in r.cells.values() if c)


def test_an_old_store_without_model_paths_still_reads(gp_store):
    table = results_table(gp_store, "gp-eval")
    assert not table.notes and not any(c.others for r in table.rows for c in r.cells.values() if c)


def test_markdown_never_lets_a_run_name_or_model_output_become_markup():
    """Issue 26: a response holding ``` ended the report's code fence; run names were not escaped."""
    from sftlab.analysis.tables import md_escape, md_fence
    from sftlab.store import Result

    response = "look: ```\n# not a heading\n```` done"
    block = md_fence(response, "text")
    fence = block.split("\n", 1)[0][: -len("text")]
    assert set(fence) == {"`"} and len(fence) == 5
    assert block.endswith("\n" + fence) and fence not in block[len(fence):-len(fence)]
    assert md_escape("**bold** <img src=x> | a_b") == r"\*\*bold\*\* &lt;img src=x&gt; \| a\_b"
    row = Result("k", "<b>x</b>|y", "checkpoint-1", 1, "gp-eval", "id", "acc", 0.5, None, None, 2, {})
    markdown = to_markdown(results_table([row], "gp-eval"))
    assert r"&lt;b&gt;x&lt;/b&gt;\|y @1" in markdown and "<b>" not in markdown


def test_two_model_folders_with_one_name_evaluated_into_one_folder_are_two_rows(tmp_path):
    """Issue 26: `sftlab eval --model x1/model` and `--model x2/model` into one folder showed as one row."""
    import shutil

    from sftlab.evaluate import EvalConfig, evaluate
    from sftlab.models import resolve

    for parent in ("x1", "x2"):
        shutil.copytree(resolve("tiny-random"), tmp_path / parent / "model")
        evaluate(EvalConfig(model=str(tmp_path / parent / "model"), suite="gp-eval", episodes=1, max_new_tokens=2,
                            device="cpu", splits=("id",), out=str(tmp_path / "ev")), progress=False)
    with ResultsStore(tmp_path / "ev") as store:
        assert {r.settings["model"] for r in store.query()} == {str(tmp_path / p / "model") for p in ("x1", "x2")}
    table = results_table(tmp_path / "ev", "gp-eval")
    assert sorted(r.label for r in table.rows) == ["model [x1/model]", "model [x2/model]"]


def test_an_evaluation_stored_before_keys_held_the_model_path_is_migrated_not_doubled(tmp_path):
    import json as _json

    from sftlab.evaluate import EvalConfig, evaluate

    config = EvalConfig(model="tiny-random", suite="gp-eval", episodes=1, max_new_tokens=2, device="cpu",
                        splits=("id",), out=str(tmp_path))
    evaluate(config, progress=False)
    conn = sqlite3.connect(tmp_path / "results.sqlite")  # as an older sftlab wrote it: other key, no model path
    for key, settings in conn.execute("SELECT DISTINCT key, settings FROM results").fetchall():
        old = {k: v for k, v in _json.loads(settings).items() if k != "model"}
        conn.execute("UPDATE results SET key = ?, settings = ? WHERE key = ?", ("old-" + key, _json.dumps(old), key))
    conn.commit()
    conn.close()
    evaluate(config, progress=False)  # reuses the stored numbers under the new key and drops the old one
    with ResultsStore(tmp_path) as store:
        keys = {r.key for r in store.query()}
    assert len(keys) == 1 and not next(iter(keys)).startswith("old-")
    assert not results_table(tmp_path, "gp-eval").notes
