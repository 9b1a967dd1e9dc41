"""SynRhythm's metrics against values computed by hand."""

import math

import numpy as np

from hrbench.boards.metrics import compute_metrics


def test_metrics_match_hand_computation():
    pred = np.array([70.0, 82.0, 95.0, 60.0])
    ref = np.array([72.0, 80.0, 90.0, 60.0])
    # errors: -2, 2, 5, 0
    m = compute_metrics(pred, ref)
    assert math.isclose(m.hr_me, 1.25)
    assert math.isclose(m.hr_sd, math.sqrt(((-3.25) ** 2 + 0.75**2 + 3.75**2 + 1.25**2) / 4))
    assert math.isclose(m.hr_rmse, math.sqrt((4 + 4 + 25 + 0) / 4))
    assert math.isclose(m.hr_mer, (2 / 72 + 2 / 80 + 5 / 90 + 0) / 4 * 100)
    assert math.isclose(m.mae, 9 / 4)
    assert math.isclose(m.r, np.corrcoef(pred, ref)[0, 1])
    assert m.n == 4
    # The paper's identity: rmse^2 = me^2 + sd^2
    assert math.isclose(m.hr_rmse**2, m.hr_me**2 + m.hr_sd**2)


def test_metrics_degenerate_inputs():
    assert compute_metrics(np.array([]), np.array([])).n == 0
    m = compute_metrics(np.array([70.0]), np.array([70.0]))
    assert m.hr_rmse == 0 and math.isnan(m.r)
