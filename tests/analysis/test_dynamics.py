import pytest

from sftlab.analysis.dynamics import dip_and_recovery


def test_dip_then_recovery_like_the_papers_qwen3_4b_math500():
    # Qwen3-4B-Base MATH500 (rethinking spec, Table 9): 70.8 -> 62.9 at step 20 -> 86.2 at step 640
    s = dip_and_recovery([(0, 70.8), (20, 62.9), (40, 71.5), (640, 86.2)])
    assert (s.min_step, s.minimum, s.final_step) == (20, 62.9, 640)
    assert s.dip == pytest.approx(7.9) and s.change == pytest.approx(15.4)
    assert s.dipped and s.recovered and s.verdict == "dip, recovered"


def test_dip_without_recovery_like_qwen3_1_7b():
    s = dip_and_recovery([(40, 42.9), (0, 58.9), (640, 56.2)])  # order does not matter
    assert s.dipped and not s.recovered and s.verdict == "dip, not recovered"


def test_no_dip_and_tolerance():
    assert dip_and_recovery([(0, 0.5), (10, 0.6), (20, 0.7)]).verdict == "no dip"
    assert dip_and_recovery([(0, 0.5), (10, 0.49), (20, 0.7)], tolerance=0.02).verdict == "no dip"
    with pytest.raises(ValueError):
        dip_and_recovery([(0, 1.0)])
