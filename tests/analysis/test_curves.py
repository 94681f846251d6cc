import json

import pytest

from sftlab.analysis.curves import curve_points, plot_metric_curves, plot_training_logs
from sftlab.analysis.sources import find_runs
from sftlab.store import Metric, ResultsStore

STEPS = (20, 40, 80, 640)


@pytest.fixture
def store(tmp_path):
    s = ResultsStore(tmp_path)
    # the base is stored once (one key) under run "a"; run "b" must borrow it as its step 0
    s.record("base", run="a", checkpoint="base", step=0, suite="countdown-eval",
             metrics=[Metric("easy", "acc", 0.5, 100, 0.4, 0.6), Metric("hard", "acc", 0.2, 300, 0.15, 0.25)])
    for i, step in enumerate(STEPS):
        for run, shift in (("a", 0.0), ("b", 0.1)):
            s.record(f"{run}{step}", run=run, checkpoint=f"checkpoint-{step}", step=step, suite="countdown-eval",
                     metrics=[Metric("easy", "acc", 0.3 + 0.1 * i + shift, 100, 0.2, 0.9),
                              Metric("hard", "acc", 0.1 + 0.05 * i, 300, 0.05, 0.5)])
    s.record("rand", run="random", checkpoint="random", suite="countdown-eval",
             metrics=[Metric("easy", "acc", 0.05, 100), Metric("hard", "acc", 0.01, 300)])
    yield s
    s.close()


def test_points_borrow_the_single_base_and_keep_stored_values(store):
    curves, flat = curve_points(store.query(), "countdown-eval", "acc", "easy")
    assert flat == {"random": 0.05}
    assert [p.step for p in curves["b"]] == [0, *STEPS]
    assert [p.value for p in curves["b"]] == pytest.approx([0.5, 0.4, 0.5, 0.6, 0.7])
    assert (curves["a"][0].ci_low, curves["a"][0].ci_high) == (0.4, 0.6)


def test_pooled_points_are_n_weighted(store):
    curves, _ = curve_points(store.query(), "countdown-eval", "acc")
    assert curves["a"][0].value == pytest.approx((0.5 * 100 + 0.2 * 300) / 400)
    assert curves["a"][0].ci_low is None


def test_figure_has_a_panel_per_split_lines_bands_and_symlog_x(store):
    fig = plot_metric_curves(store, "countdown-eval", "acc")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["easy", "hard"]
    ax = axes[0]
    assert ax.get_xscale() == "symlog" and ax.get_xlim()[0] == 0
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["a"].get_xdata()) == [0, *STEPS]
    assert list(lines["a"].get_ydata()) == pytest.approx([50.0, 30.0, 40.0, 50.0, 60.0])  # percent
    assert list(lines["random"].get_ydata()) == pytest.approx([5.0, 5.0])  # a flat reference line
    assert len(ax.collections) == 2  # one interval band per run
    linear = plot_metric_curves(store, "countdown-eval", "acc", log_x=False)
    assert linear.axes[0].get_xscale() == "linear"
    assert plot_metric_curves(store, "countdown-eval", "no-such-metric") is None


def test_training_logs_from_log_history(tmp_path):
    for name, key in (("grpo-run", "reward"), ("sft-run", "loss")):
        run = tmp_path / name
        (run / "logs").mkdir(parents=True)
        (run / "run.json").write_text(json.dumps({"kind": name[:4]}))
        rows = [{"step": s, key: s / 10} for s in range(1, 6)]
        (run / "logs" / "log_history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "{oops\n")
    runs = find_runs(tmp_path)
    assert any("not valid JSON" in n for r in runs for n in r.notices)
    fig = plot_training_logs(runs)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["reward", "loss"]
    [reward_line] = fig.axes[0].get_lines()
    assert reward_line.get_label() == "grpo-run" and list(reward_line.get_ydata()) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert plot_training_logs([]) is None
