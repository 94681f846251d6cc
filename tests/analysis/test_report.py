import json
import re
import sqlite3

from sftlab.analysis.report import SECTION_BUILDERS, Section, build_report, register_section
from sftlab.analysis.tables import results_table, to_markdown
from sftlab.cli import main
from sftlab.store import Metric, ResultsStore


def test_report_has_every_part_and_is_self_contained(demo_dir, demo_report):
    text = demo_report.read_text(encoding="utf-8")
    assert text.count('<table class="results">') == 2  # success and validity
    for section in ("Results tables", "Curves over training", "Training logs", "Weights", "Sample transcripts",
                    "Configs"):
        assert f"<h2>{section}</h2>" in text
    files = sorted((demo_dir / "report_files").glob("*.png"))
    ours = [f for f in files if f.name.startswith(("curves-", "training-logs", "weights-"))]
    # curves (success, validity, length, reflection), logs, L2 plot, one heatmap per run with checkpoints
    assert len(ours) == 4 + 1 + 1 + 3
    assert text.count('src="data:image/png;base64,') == len(files)  # every figure (of any section) embedded
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), "the report must not load anything"
    assert "<script" not in text
    markdown = demo_report.with_suffix(".md").read_text(encoding="utf-8")
    for png in files:
        assert f"(report_files/{png.name})" in markdown
    assert "Run grpo-diverse has no complete checkpoints" in text
    assert "name: demo" in text and "&quot;lr&quot;: 1e-05" in text  # spec.yaml and run.json shown


def test_report_tables_are_the_store_tables(demo_dir, demo_report):
    markdown = demo_report.with_suffix(".md").read_text(encoding="utf-8")
    with ResultsStore(demo_dir / "eval") as store:
        for metric in ("success", "validity"):
            assert to_markdown(results_table(store, "sokoban-eval", metric=metric)) in markdown


def test_transcripts_show_failures_first(demo_report):
    text = demo_report.read_text(encoding="utf-8")
    blocks = text.split("<h3>sokoban-eval / ")[1:]
    assert [b.split("<")[0] for b in blocks][:3] == [
        "SimpleSokoban", "SimpleSokobanAlphabetical", "SimpleSokobanNumerical"]  # paper column order
    for block in blocks:
        classes = re.findall(r'<details class="sample (ok|fail)">', block.split("<h3>")[0])
        assert 0 < len(classes) <= 3 and classes == sorted(classes, key=lambda c: c != "fail")
    # one slot is kept for a success where a split has one (SimpleSokoban: 80% success in the demo)
    assert "ok" in re.findall(r'<details class="sample (ok|fail)">', blocks[0].split("<h3>")[0])
    assert '<details class="sample fail">' in text and "invalid label" in text


def test_missing_inputs_become_visible_notices(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    text = build_report(empty).read_text()
    assert 'class="notices"' in text and "No results store" in text

    exp = tmp_path / "exp"
    with ResultsStore(exp / "eval") as store:
        store.record("k1", run="r", checkpoint="checkpoint-5", step=5, suite="gp-eval",
                     metrics=[Metric("id", "acc", 0.5, 10, 0.2, 0.8)])
    conn = sqlite3.connect(exp / "eval" / "results.sqlite")
    conn.execute("UPDATE meta SET value='0.0.1' WHERE key='sftlab_version'")
    conn.commit()
    conn.close()
    (exp / "old").mkdir()
    (exp / "old" / "results.sqlite").write_bytes(b"garbage, not sqlite" * 10)
    run = exp / "runs" / "r"
    (run / "checkpoints" / "checkpoint-5").mkdir(parents=True)  # no COMPLETE marker: unfinished
    (run / "run.json").write_text(json.dumps({"kind": "sft", "base_model": "no/such-model"}))
    out = build_report(exp, tmp_path / "out" / "r.html")
    text = out.read_text()
    assert "written by sftlab 0.0.1" in text
    assert "old/results.sqlite" in text and "left out" in text
    assert "Run r has no complete checkpoints" in text
    assert "No training logs" in text
    assert "No per-sample files" in text
    assert '<table class="results">' in text  # what exists still renders
    assert (tmp_path / "out" / "r.md").is_file()


def test_extra_sections_and_registered_builders(tmp_path):
    (tmp_path / "x").mkdir()

    def good(ctx):
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        img_html, img_md = ctx.figure(fig, "dip")
        return Section("Dip and recovery", f"<p>dip summary</p>{img_html}", f"dip summary\n\n{img_md}")

    def broken(ctx):
        raise RuntimeError("boom")

    register_section("test-good", good)
    register_section("test-broken", broken)
    try:
        out = build_report(tmp_path / "x", extra_sections=[Section("Extra", "<p>extra html</p>", "extra md")])
    finally:
        SECTION_BUILDERS.pop("test-good")
        SECTION_BUILDERS.pop("test-broken")
    text = out.read_text()
    assert "<h2>Dip and recovery</h2>" in text and "data:image/png;base64," in text
    assert "<h2>Extra</h2>" in text and "extra html" in text
    assert "The test-broken section could not be built (RuntimeError: boom)" in text
    assert (tmp_path / "x" / "report_files" / "dip.png").is_file()
    assert "extra md" in out.with_suffix(".md").read_text()


def test_cli_report_and_table(tmp_path, capsys):
    with ResultsStore(tmp_path / "eval") as store:
        store.record("k1", run="r", checkpoint="checkpoint-5", step=5, suite="gp-eval",
                     metrics=[Metric("all_5", "acc", 0.25, 8, 0.1, 0.6)])
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "rep.html"), "--no-weights"]) == 0
    assert (tmp_path / "rep.html").is_file() and (tmp_path / "rep.md").is_file()
    assert main(["analyze", "table", str(tmp_path), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "gp-eval,acc,r,checkpoint-5,5,run,Instruction variants,all_5,All-5,0.25,0.1,0.6,8,0" in out
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert main(["analyze", "table", str(tmp_path), "--format", "docx"]) == 2
    assert main(["analyze", "table", str(tmp_path / "eval"), "--metric", "nope"]) == 2
    err = capsys.readouterr().err
    assert "error: no such folder" in err and "unknown format 'docx'" in err and "no metric 'nope'" in err
    assert "Traceback" not in err


def test_cli_analyze_weights(demo_dir, tmp_path, capsys):
    run = demo_dir / "runs" / "diverse-cot"
    assert main(["analyze", "weights", str(run), "--out", str(tmp_path / "w")]) == 0
    lines = (tmp_path / "w" / "l2_to_base.csv").read_text().splitlines()
    assert lines[0] == "phase,l2,rel_l2,num_params,num_elems" and len(lines) == 5
    assert (tmp_path / "w" / "relative_change.png").stat().st_size > 1000
    assert main(["analyze", "weights", str(tmp_path)]) == 2


def test_same_inputs_give_byte_identical_reports(demo_dir, demo_report, tmp_path):
    again = build_report(demo_dir, tmp_path / "report.html")
    assert again.read_bytes() == demo_report.read_bytes()
    assert again.with_suffix(".md").read_bytes() == demo_report.with_suffix(".md").read_bytes()


def test_experiment_layout_spec_next_to_the_report(tmp_path):
    exp = tmp_path / "exp"
    with ResultsStore(exp / "outputs" / "eval") as store:
        store.record("k", run="r", checkpoint="checkpoint-1", step=1, suite="gp-eval",
                     metrics=[Metric("id", "acc", 0.5, 10, 0.2, 0.8)])
    (exp / "spec.yaml").write_text("name: my-experiment\n")
    with ResultsStore(exp / "superseded" / "eval-old") as stale:  # outputs of an older version of a step
        stale.record("old", run="stale-run", checkpoint="checkpoint-1", step=1, suite="gp-eval",
                     metrics=[Metric("id", "acc", 0.9, 10, 0.5, 1.0)])
    assert "stale-run" not in build_report(exp, tmp_path / "all.html", weights=False).read_text()
    out = build_report(exp / "outputs", out_html=exp / "report.html", weights=False)
    assert out == exp / "report.html" and (exp / "report.md").is_file()
    assert "name: my-experiment" in out.read_text()
