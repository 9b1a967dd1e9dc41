"""Error metrics exactly as SynRhythm (section IV-A, after Li et al. 2014) defines them.

With ``HRe = HRest - HRgt`` over the videos of a test set:

* ``HRme``   -- mean of HRe (bias; signed), bpm
* ``HRsd``   -- standard deviation of HRe, bpm (population form, ddof=0, so
  that HRrmse**2 == HRme**2 + HRsd**2, which the paper's own rows satisfy:
  0.30**2 + 4.48**2 = 4.49**2)
* ``HRrmse`` -- root mean squared HRe, bpm
* ``HRmer``  -- mean of |HRe| / HRgt, as a percentage

plus MAE (mean |HRe|), Pearson r between HRest and HRgt, and n.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Metrics:
    hr_me: float
    hr_sd: float
    hr_rmse: float
    hr_mer: float
    mae: float
    r: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def compute_metrics(pred: np.ndarray, ref: np.ndarray) -> Metrics:
    pred = np.asarray(pred, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    if pred.shape != ref.shape or pred.ndim != 1:
        raise ValueError(f"pred and ref must be 1-D of equal length, got {pred.shape} and {ref.shape}")
    n = len(pred)
    if n == 0:
        nan = float("nan")
        return Metrics(nan, nan, nan, nan, nan, nan, 0)
    e = pred - ref
    r = float(np.corrcoef(pred, ref)[0, 1]) if n > 1 and np.std(pred) > 0 and np.std(ref) > 0 else float("nan")
    return Metrics(
        hr_me=float(e.mean()),
        hr_sd=float(e.std()),
        hr_rmse=float(np.sqrt(np.mean(e**2))),
        hr_mer=float(np.mean(np.abs(e) / ref) * 100.0),
        mae=float(np.mean(np.abs(e))),
        r=r,
        n=n,
    )
