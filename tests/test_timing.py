"""hrbench.data.timing: isolated time glitches repaired with a note, systematic faults refused."""

from __future__ import annotations

import numpy as np
import pytest

from hrbench.data.timing import MAX_REPAIR_FRACTION, TimingFault, first_fault, repair_times


def _frames(n: int = 3000, fps: float = 30.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.round(np.cumsum(np.r_[0.0, 1 / fps + rng.uniform(-0.002, 0.002, n - 1)]), 3)


def test_clean_times_pass_unchanged():
    t = _frames()
    r = repair_times(t)
    assert not r.changed and r.notes == ()
    np.testing.assert_array_equal(r.times, t)


def test_ubfc_style_repeat_is_set_midway_and_named_by_sample_and_time():
    t = _frames()
    t[2023] = t[2022]  # samples 2023 and 2024 (1-based) share one time, as in real UBFC-rPPG
    r = repair_times(t)
    assert r.repaired == (2023,)
    assert r.times[2023] == pytest.approx((t[2022] + t[2024]) / 2)
    np.testing.assert_array_equal(np.delete(r.times, 2023), np.delete(t, 2023))
    assert r.notes[0].startswith(f"sample 2024 (t = {t[2022]:.3f} s) repeats the previous time: its time set to")


@pytest.mark.parametrize(("index", "value", "moved"), [(50, 1.0, 50), (50, 2.5, 50), (51, 1.0, 51)])
def test_out_of_order_sample_the_one_that_breaks_the_rhythm_is_moved(index, value, moved):
    t = np.arange(100) / 30.0
    t[index] = value
    r = repair_times(t)
    assert r.repaired == (moved,)
    np.testing.assert_allclose(r.times, np.arange(100) / 30.0, atol=1e-12)


def test_glitches_at_the_ends_use_the_median_step():
    t = np.arange(100) / 30.0
    t[99] = t[98]
    assert repair_times(t).times[99] == pytest.approx(99 / 30.0)
    t = np.arange(100) / 30.0
    t[0] = t[1]
    assert repair_times(t).times[0] == pytest.approx(0.0, abs=1e-12)


def test_systematic_faults_are_errors():
    t = _frames()
    t[500:503] = t[499]  # a stalled clock: three repeats in a row
    with pytest.raises(TimingFault, match=r"samples 501-502 \(t = .*\) repeat or go back in time more than once in a "
                                          r"row"):
        repair_times(t)
    t = _frames()
    many = np.arange(10, 3000, 50)  # 60 isolated repeats in 3000 samples: over 1 %
    t[many] = t[many - 1]
    assert len(many) > MAX_REPAIR_FRACTION * len(t)
    with pytest.raises(TimingFault, match=r"60 of 3000 samples repeat or go back in time \(first: sample 11"):
        repair_times(t)
    with pytest.raises(TimingFault, match="do not increase overall"):
        repair_times(_frames()[::-1])


def test_first_fault_names_sample_and_times():
    t = np.array([0.0, 0.1, 0.05, 0.3])
    assert first_fault(t, noun="line") == "line 3 (t = 0.050 s) is earlier than line 2 (t = 0.100 s)"
    assert first_fault(np.arange(5.0)) is None
