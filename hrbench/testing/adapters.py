"""Conformance checks of a dataset adapter, on a copy of the data: ids, recordings, ground truth, timestamps.

Per-recording checks that read files (pickling, ground truth, timestamps)
look at up to ``max_recordings`` recordings spread over the scan.
"""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np

from ..data.dataset import DatasetAdapter, Problem
from ..data.recording import Recording
from ..data.video import probe
from .results import (
    Check,
    CheckResult,
    CheckSkipped,
    fail,
    name_of,
    raise_if_failed,
    registration,
    run_checks,
)


class _AdapterHarness:
    """Scans the data (twice, cached) and samples recordings for the adapter checks."""

    def __init__(self, cls: type[DatasetAdapter], root: Path, max_recordings: int) -> None:
        self.cls, self.root, self.max = cls, Path(root), max_recordings
        self._scans: list[list[Recording]] | None = None

    def adapter(self) -> DatasetAdapter:
        return self.cls()

    def scans(self) -> list[list[Recording]]:
        if self._scans is None:
            self._scans = [self.adapter().scan(self.root), self.adapter().scan(self.root)]
        return self._scans

    def sample(self) -> list[Recording]:
        recs = self.scans()[0]
        if not recs:
            fail(f"scan found no recordings under {self.root}")
        step = max(1, math.ceil(len(recs) / self.max))
        return recs[::step]

    def _video(self, r: Recording) -> tuple[int, float]:
        n, _ = probe(r.frames)
        if n <= 0:
            fail(f"recording {r.id!r}: no frames in {r.frames.path}")
        return n, n / r.fps


class _AdapterRecords(_AdapterHarness):
    """What scan lists: unique, stable ids, well-formed and picklable recordings; check agrees with scan."""

    def check_class(self) -> None:
        adapter_class_check(self.cls)

    def check_ids(self) -> None:
        first, second = self.scans()
        ids = [r.id for r in first]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            fail(f"recording ids are not unique: {dup[:5]}")
        if sorted(ids) != sorted(r.id for r in second):
            fail("two scans of the same folder list different recording ids (results are keyed on them)")
        a = {r.id: (r.subject, r.session, r.fps, str(r.frames.path)) for r in first}
        b = {r.id: (r.subject, r.session, r.fps, str(r.frames.path)) for r in second}
        if a != b:
            bad = sorted(k for k in a if a[k] != b.get(k))[:3]
            fail(f"two scans describe recordings differently: {bad}")

    def check_fields(self) -> None:
        for r in self.scans()[0]:
            where = f"recording {r.id!r}"
            if not isinstance(r, Recording):
                fail(f"scan returned a {type(r).__name__}, not a Recording")
            if r.dataset != self.cls.name:
                fail(f"{where}: dataset is {r.dataset!r}, expected the adapter's name {self.cls.name!r}")
            if not (isinstance(r.id, str) and r.id) or not (isinstance(r.subject, str) and r.subject):
                fail(f"{where}: id and subject must be non-empty strings")
            if not (isinstance(r.fps, int | float) and math.isfinite(r.fps) and r.fps > 0):
                fail(f"{where}: fps must be a positive number, got {r.fps!r}")
            if r.roi not in ("face", "full-frame"):
                fail(f"{where}: roi must be 'face' or 'full-frame', got {r.roi!r}")
            if not callable(r.ground_truth) or (r.timestamps is not None and not callable(r.timestamps)):
                fail(f"{where}: ground_truth (and timestamps, if given) must be callables")
            if r.window is not None and not (len(r.window) == 2 and 0 <= r.window[0] < r.window[1]):
                fail(f"{where}: window must be (start_s, end_s) with 0 <= start < end, got {r.window!r}")
            try:
                json.dumps(r.meta, allow_nan=False)
            except (TypeError, ValueError) as exc:
                fail(f"{where}: meta is not JSON-serialisable ({exc})")

    def check_pickle(self) -> None:
        for r in self.sample():
            try:
                back = pickle.loads(pickle.dumps(r))
            except Exception as exc:  # noqa: BLE001
                fail(f"recording {r.id!r} cannot be pickled ({type(exc).__name__}: {exc}); use "
                      f"functools.partial of module-level functions, not lambdas, for ground_truth/timestamps")
            a, b = r.load_ground_truth(), back.load_ground_truth()
            if not np.array_equal(np.asarray(a.values), np.asarray(b.values)):
                fail(f"recording {r.id!r}: ground truth differs after a pickle round trip")

    def check_consistent(self) -> None:
        adapter = self.adapter()
        usable, problems = adapter.scan_with_problems(self.root)
        checked, check_problems = adapter.check(self.root)
        for p in [*problems, *check_problems]:
            if not isinstance(p, Problem):
                fail(f"problems must be Problem instances, got {type(p).__name__}")
        scanned = {r.id for r in self.scans()[0]}
        ids = {r.id for r in checked}
        extra = sorted(ids - scanned - {r.id for r in usable})
        if extra:
            fail(f"check returns recordings that scan does not: {extra[:5]}")
        errors = {p.recording_id for p in check_problems if p.is_error}
        both = sorted(ids & errors - {None})
        if both:
            fail(f"check returns recordings as usable and reports errors for them: {both[:5]}")
        dropped = sorted(scanned - ids - errors)
        if dropped:
            fail(f"check drops recordings that scan lists without an error Problem naming them: {dropped[:5]}")


class _AdapterSignals(_AdapterHarness):
    """What the recordings carry: ground truth and timestamps that match the video."""

    def check_ground_truth(self) -> None:
        for r in self.sample():
            sig = r.load_ground_truth()  # RecordingError for NaN/inf/empty -> failed
            if sig.kind not in ("bvp", "ecg", "hr"):
                fail(f"recording {r.id!r}: signal kind {sig.kind!r}; use bvp, ecg or hr")
            if not (sig.times is not None or (math.isfinite(sig.fs) and sig.fs > 0)):
                fail(f"recording {r.id!r}: signal fs must be positive, got {sig.fs!r}")
            t = sig.sample_times()
            if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
                fail(f"recording {r.id!r}: ground-truth sample times are not finite and strictly rising")
            # A regularly sampled signal's last sample covers one more period; explicit
            # times (e.g. a two-point constant HR track [0, end]) span exactly what they say.
            end = t[-1] + (0.0 if sig.times is not None else 1.0 / sig.fs)
            _, video_s = self._video(r)
            a, b = r.window if r.window is not None else (0.0, video_s)
            covered = max(0.0, min(end, b) - max(t[0], a))
            if covered < 0.9 * (b - a):
                fail(f"recording {r.id!r}: ground truth covers {t[0]:.2f}-{end:.2f} s of the video clock, "
                      f"less than 90 % of the video's {a:.2f}-{b:.2f} s")
            if end - t[0] > 1.5 * video_s:
                fail(f"recording {r.id!r}: ground truth spans {end - t[0]:.2f} s for a {video_s:.2f}-s video "
                      f"(sample rate wrong?)")

    def check_timestamps(self) -> None:
        with_ts = [r for r in self.sample() if r.timestamps is not None]
        if not with_ts:
            raise CheckSkipped("no recording has timestamps (the run uses the nominal fps)")
        for r in with_ts:
            ts = np.asarray(r.timestamps(), dtype=np.float64)
            n, _ = self._video(r)
            if ts.ndim != 1 or not np.all(np.isfinite(ts)):
                fail(f"recording {r.id!r}: timestamps must be a 1-D array of finite seconds")
            if len(ts) != n:
                fail(f"recording {r.id!r}: {len(ts)} timestamps for {n} frames (one per frame, from the first)")
            if np.any(np.diff(ts) <= 0):
                k = int(np.flatnonzero(np.diff(ts) <= 0)[0])
                fail(f"recording {r.id!r}: timestamps do not rise strictly (frame {k + 1}); "
                     f"the run would fall back to {r.fps} fps")
            if len(ts) > 1:
                dt = float(np.median(np.diff(ts)))
                if not 0.2 / r.fps <= dt <= 5.0 / r.fps:
                    fail(f"recording {r.id!r}: median frame interval {dt:.4g} s at {r.fps} fps: "
                         "timestamps must be in seconds")


class _AdapterChecks(_AdapterRecords, _AdapterSignals):
    """Every adapter check, in the order they are reported."""

    def checks(self) -> list[Check]:
        return [
            ("subclass_and_name", self.check_class),
            ("ids_unique_and_stable", self.check_ids),
            ("recording_fields", self.check_fields),
            ("recordings_picklable", self.check_pickle),
            ("ground_truth_finite_and_as_long_as_video", self.check_ground_truth),
            ("timestamps_contract", self.check_timestamps),
            ("check_consistent_with_scan", self.check_consistent),
        ]


def adapter_class_check(cls: type[DatasetAdapter]) -> None:
    """The checks that need no data: the host would register it, ``needs_root`` is a bool."""
    registration("datasets", cls)
    if not isinstance(getattr(cls, "needs_root", True), bool):
        fail("needs_root must be a bool")


def adapter_checks(cls: type[DatasetAdapter], root: str | Path, *, max_recordings: int = 25) -> list[Check]:
    """The adapter checks on a copy of the data at ``root`` (already prepared).

    Per-recording checks that read files (pickling, ground truth, timestamps)
    look at up to ``max_recordings`` recordings spread over the scan.
    """
    if not isinstance(cls, type) or not issubclass(cls, DatasetAdapter):
        return [("subclass_and_name", lambda: registration("datasets", cls))]
    return _AdapterChecks(cls, Path(root), max_recordings).checks()


def check_adapter(cls: type[DatasetAdapter], root: str | Path, *, max_recordings: int = 25) -> list[CheckResult]:
    """Run every adapter check on the data at ``root``; raise ConformanceError if any failed."""
    checks = adapter_checks(cls, root, max_recordings=max_recordings)
    return raise_if_failed(run_checks("dataset", name_of(cls), checks))
