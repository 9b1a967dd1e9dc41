"""Scoring one fold: a fitted method's test predictions under the protocol's evaluation rule.

The runner prepares clips and fits; this module turns the method's outputs
on the test recordings into the rows the store keeps -- one row per scored
unit (a clip under the ``clips`` rule, an evaluation window otherwise) and
one per video -- and checks them before anything is stored:

* a prediction that is NaN or infinite is a clip/window the method declined;
* a prediction outside the protocol's HR band is kept (a regressor may be
  wrong) but counted, and reported with the run;
* a fold in which no prediction is finite *and* inside the band fails the
  method with one line (a method returning Hz instead of bpm, or nothing at
  all), before a row is written, so the store stays usable;
* a method that produces a pulse must give, from ``predict``, the HR of its
  own pulse (:func:`check_predict_matches_pulse`, on a few clips per fold):
  the rules read one or the other, so a ``predict`` in Hz next to a right
  ``predict_pulse`` would otherwise be stored silently under ``whole``.

Rules (see :mod:`hrbench.clips.protocol`): under ``clips`` a video's HR is the
protocol's aggregate of its clip predictions and its reference the same
aggregate of all its clips' references (the same for every method).  Under ``whole`` / ``windowed`` a method
that produces a pulse is run once per evaluation window and its HR read by
:func:`hrbench.pulse.hr.window_hrs` -- each window's own spectral peak
(``window_peak = "plain"``, i.e. :func:`hrbench.pulse.hr.spectral_hr`) or a
recording's windows read jointly (``"anchored"``); a per-clip method is run
on clips tiled over the window and the window's HR is the aggregate of
those clips.  The reference of a window was read from the ground truth over
exactly that window (:mod:`hrbench.clips.sampling`).

Window-level results are kept, not only videos: each scored unit is one
``clip_predictions`` row of the store (``clip_index`` = the window's index
in the recording, ``start_s`` its start on the video clock, ``hr_pred``
NULL where the method declined it, ``hr_ref`` its own reference);
:meth:`hrbench.store.results.Results.units` reads them back and
:func:`hrbench.boards.boards.window_metrics` turns them into per-window MAE and
the share of windows within 5 bpm.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..clips.protocol import AGGREGATES, Protocol
from ..clips.sampling import RecordingClips
from ..errors import HrbenchError
from ..plugin.clips import Clips
from ..plugin.method import Method
from ..pulse.hr import spectral_hr, window_hrs


def batch(rcs: list[RecordingClips], scheme: str, protocol: Protocol, labels: bool, *, tiled: bool = False) -> Clips:
    """One :class:`Clips` batch of several recordings' clips (random clips, or the tiled ones)."""
    if not rcs:
        raise HrbenchError("a fold has no usable recordings")
    if tiled:
        parts = [rc.evaluation.tiled[scheme] for rc in rcs]  # type: ignore[union-attr]
        counts = [len(p) for p in parts]
        starts = np.concatenate([np.zeros(c) for c in counts])
        hr = None
    else:
        length = min(rc.traces[scheme].shape[2] for rc in rcs)
        parts = [rc.traces[scheme][:, :, :length] for rc in rcs]
        counts = [len(rc.hr_ref) for rc in rcs]
        starts = np.concatenate([rc.starts_s for rc in rcs])
        hr = np.concatenate([rc.hr_ref for rc in rcs]) if labels else None
    return Clips(
        traces=np.concatenate(parts),
        fps=protocol.clips.fps,
        hr_settings=protocol.hr,
        recording_ids=np.concatenate([[rc.recording_id] * c for rc, c in zip(rcs, counts, strict=True)]),
        subjects=np.concatenate([[rc.subject] * c for rc, c in zip(rcs, counts, strict=True)]),
        hr=hr,
        starts=starts,
    )


@dataclass
class FoldScore:
    """What one fold's test predictions became: store rows plus counts worth reporting."""

    units: list[tuple[str, int, float, float | None, float]] = field(default_factory=list)
    videos: list[tuple[str, str, float, float, dict[str, Any]]] = field(default_factory=list)
    n_predictions: int = 0
    n_nonfinite: int = 0
    n_out_of_band: int = 0
    videos_without_prediction: int = 0

    def notes(self) -> dict[str, int]:
        out = {"nonfinite_predictions": self.n_nonfinite, "out_of_band_predictions": self.n_out_of_band,
               "videos_without_prediction": self.videos_without_prediction}
        return {k: v for k, v in out.items() if v}


def _pulse_hr(method: Method, rc: RecordingClips, protocol: Protocol) -> np.ndarray:
    """HR of each evaluation window from the method's pulse over that window (by the protocol's ``window_peak``).

    Windows of one length share a batch and are read together by
    :func:`hrbench.pulse.hr.window_hrs` (under ``windowed`` every window of a
    recording has one length, so ``anchored`` sees all of them).
    """
    ev = rc.evaluation
    assert ev is not None
    out = np.full(len(ev.bounds), np.nan)
    lengths = ev.bounds[:, 1] - ev.bounds[:, 0]
    for n in np.unique(lengths):  # windows of one length share a batch
        idx = np.flatnonzero(lengths == n)
        traces = np.stack([ev.window(method.roi_scheme, i) for i in idx])
        clips = Clips(traces, protocol.clips.fps, np.array([rc.recording_id] * len(idx)),
                      np.array([rc.subject] * len(idx)), protocol.hr)
        pulse = np.asarray(method.predict_pulse(clips), dtype=np.float64)
        if pulse.shape != (len(idx), n):
            raise HrbenchError(f"method {method.name}: predict_pulse returned {pulse.shape} "
                               f"for {len(idx)} windows of {n} frames")
        out[idx] = window_hrs(pulse, protocol.clips.fps, protocol.hr, peak=protocol.evaluation.window_peak,
                              filtered=method.pulse_prefiltered)
    return out


def _predict(method: Method, clips: Clips) -> np.ndarray:
    pred = np.asarray(method.predict(clips), dtype=np.float64)
    if pred.shape != (len(clips),):
        raise HrbenchError(f"method {method.name} returned {pred.shape} predictions for {len(clips)} clips")
    return pred


def score_fold(method: Method, test: list[RecordingClips], protocol: Protocol, meta: list[dict[str, Any]]) -> FoldScore:
    """Predict the fold's test recordings and turn the predictions into store rows."""
    rule = protocol.evaluation.rule
    aggregate = AGGREGATES[protocol.clips.aggregate]
    # Per recording: (unit predictions, unit references, unit starts).
    units: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    if rule == "clips":
        pred = _predict(method, batch(test, method.roi_scheme, protocol, labels=False))
        k = 0
        for rc in test:
            n = len(rc.hr_ref)
            units.append((pred[k : k + n], rc.hr_ref, rc.starts_s))
            k += n
    elif method.produces_pulse:
        for rc in test:
            ev = rc.evaluation
            assert ev is not None
            units.append((_pulse_hr(method, rc, protocol), ev.hr_ref, ev.starts_s))
    else:
        pred = _predict(method, batch(test, method.roi_scheme, protocol, labels=False, tiled=True))
        k = 0
        for rc in test:
            ev = rc.evaluation
            assert ev is not None
            p = pred[k : k + len(ev.tiled_window)]
            k += len(ev.tiled_window)
            by_window: dict[int, list[float]] = defaultdict(list)
            for w, v in zip(ev.tiled_window, p, strict=True):
                by_window[int(w)].append(v)
            win = np.array([_agg(aggregate, by_window[i]) for i in range(len(ev.bounds))])
            units.append((win, ev.hr_ref, ev.starts_s))
    score = FoldScore()
    lo, hi = protocol.hr.band_bpm
    for rc, m, (p, ref, starts) in zip(test, meta, units, strict=True):
        p = np.where(np.isfinite(p), p, np.nan)
        score.n_predictions += len(p)
        score.n_nonfinite += int(np.isnan(p).sum())
        score.n_out_of_band += int(((p < lo) | (p > hi)).sum())
        score.units += [(rc.recording_id, j, float(starts[j]), None if np.isnan(p[j]) else float(p[j]), float(ref[j]))
                        for j in range(len(p))]
        # A video's HR: the aggregate of the units the method did predict; its
        # reference: the same aggregate over *all* its units, so every method is
        # scored against one reference per video whatever it declined.  A video
        # with no prediction is counted, not faked.
        ok = ~np.isnan(p)
        if ok.any():
            score.videos.append((rc.recording_id, rc.subject, float(aggregate(p[ok])), float(aggregate(ref)), m))
        else:
            score.videos_without_prediction += 1
    usable = score.n_predictions - score.n_nonfinite
    if usable == 0 or score.n_out_of_band >= usable:
        what = ("no finite prediction" if usable == 0
                else f"all {usable} finite predictions outside the {lo:g}-{hi:g} bpm band (Hz instead of bpm?)")
        raise HrbenchError(f"method {method.name} gave {what} on {len(test)} test recordings; "
                           "nothing of this fold was stored")
    return score


def video_reference(rc: RecordingClips, protocol: Protocol) -> float:
    """A recording's reference HR as its test score would read it (clips, or evaluation windows)."""
    aggregate = AGGREGATES[protocol.clips.aggregate]
    ref = rc.hr_ref if rc.evaluation is None else rc.evaluation.hr_ref
    return float(aggregate(ref))


def _agg(aggregate: Any, values: list[float]) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(aggregate(v)) if len(v) else np.nan


#: Clips per fold (the first clip of as many test recordings) on which a pulse method's two outputs are compared.
PULSE_CHECK_CLIPS = 4
#: A clip disagrees when ``predict`` and its pulse's HR differ by more than this (bpm): far beyond two peak
#: pickers' difference on one clip, far below Hz against bpm (x60) or a halved or doubled rate.
PULSE_CHECK_BPM = 10.0


def check_predict_matches_pulse(method: Method, test: list[RecordingClips], protocol: Protocol) -> None:
    """Fail in one line when a pulse method's ``predict`` disagrees with the HR of its ``predict_pulse``.

    Why: the ``clips`` rule scores ``predict`` and the ``whole`` / ``windowed``
    rules the pulse, so a method whose two outputs disagree is scored as two
    different methods -- and a ``predict`` in Hz passes ``whole`` unnoticed.
    The pulse's HR is read as :meth:`Method.predict_pulse` documents
    (:func:`hrbench.pulse.hr.spectral_hr`).  Run after the fold is scored, on
    :data:`PULSE_CHECK_CLIPS` clips, with the method's run notes restored, so
    it changes no stored number.  Most checked clips must disagree by more
    than :data:`PULSE_CHECK_BPM`: one hard clip is not a bug.
    """
    rcs = [rc for rc in test if len(rc.hr_ref)][:PULSE_CHECK_CLIPS]
    if not method.produces_pulse or not rcs:
        return
    scheme = method.roi_scheme
    starts = np.array([rc.starts_s[0] for rc in rcs])
    clips = Clips(np.concatenate([rc.traces[scheme][:1] for rc in rcs]), protocol.clips.fps,
                  np.array([rc.recording_id for rc in rcs]), np.array([rc.subject for rc in rcs]), protocol.hr,
                  starts=starts)
    notes = dict(method.run_notes)
    try:
        pred = _predict(method, clips)
        pulse = np.asarray(method.predict_pulse(clips), dtype=np.float64)
    finally:
        method.run_notes = notes
    n_frames = clips.traces.shape[2]
    if pulse.shape != (len(clips), n_frames):
        raise HrbenchError(f"method {method.name}: predict_pulse returned {pulse.shape} for {len(clips)} clips "
                           f"of {n_frames} frames")
    hr = np.full(len(clips), np.nan)
    rows = np.isfinite(pulse).all(axis=1)
    if rows.any():
        hr[rows] = spectral_hr(pulse[rows], clips.fps, clips.hr_settings, filtered=method.pulse_prefiltered)
    ok = np.isfinite(pred) & np.isfinite(hr)
    far = ok & (np.abs(pred - hr) > PULSE_CHECK_BPM)
    if ok.any() and 2 * far.sum() > ok.sum():
        i = int(np.flatnonzero(far)[0])
        raise HrbenchError(
            f"method {method.name}: predict gave {pred[i]:.4g} but the HR of its predict_pulse is {hr[i]:.4g} bpm "
            f"(clip of {rcs[i].recording_id} at {starts[i]:.1f} s; {int(far.sum())} of {int(ok.sum())} clips "
            f"checked differ by more than {PULSE_CHECK_BPM:g} bpm): predict must return the pulse's HR in bpm")
