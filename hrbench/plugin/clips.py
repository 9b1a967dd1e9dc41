"""Clips: fixed-length windows of ROI traces, the unit methods work on.

A :class:`Clips` batch holds ``n`` windows of ``clip_len`` frames cut from
cached ROI traces (resampled to the protocol's uniform frame rate), shaped
``(n, n_rois, clip_len, 3)`` in raw mean-RGB units.  Methods derive what they
need from it (a pulse signal, a spatial-temporal map) -- nothing downstream
reads a video.

``hr`` carries the reference heart rate of each clip, read from the ground
truth over exactly the seconds the clip covers; the runner gives it to
``fit`` only, never to ``predict``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..pulse.hr import HRSettings


@dataclass(frozen=True)
class Clips:
    traces: np.ndarray
    fps: float
    recording_ids: np.ndarray
    subjects: np.ndarray
    hr_settings: HRSettings = HRSettings()
    hr: np.ndarray | None = None
    starts: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.traces.ndim != 4 or self.traces.shape[-1] != 3:
            raise ValueError(f"traces must be (n, n_rois, clip_len, 3), got {self.traces.shape}")
        n = len(self.traces)
        for name in ("recording_ids", "subjects"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {n} clips")
        if self.hr is not None and len(self.hr) != n:
            raise ValueError(f"hr has {len(self.hr)} entries for {n} clips")

    def __len__(self) -> int:
        return len(self.traces)

    @property
    def clip_len(self) -> int:
        return self.traces.shape[2]

    @property
    def n_rois(self) -> int:
        return self.traces.shape[1]

    def subset(self, index: np.ndarray) -> Clips:
        """Clips selected by an integer or boolean index."""
        return replace(
            self,
            traces=self.traces[index],
            recording_ids=self.recording_ids[index],
            subjects=self.subjects[index],
            hr=None if self.hr is None else self.hr[index],
            starts=None if self.starts is None else self.starts[index],
        )

    def without_labels(self) -> Clips:
        return replace(self, hr=None)

    @staticmethod
    def concat(parts: list[Clips]) -> Clips:
        if not parts:
            raise ValueError("no clips to concatenate")
        first = parts[0]
        return Clips(
            traces=np.concatenate([p.traces for p in parts]),
            fps=first.fps,
            recording_ids=np.concatenate([p.recording_ids for p in parts]),
            subjects=np.concatenate([p.subjects for p in parts]),
            hr_settings=first.hr_settings,
            hr=None if first.hr is None else np.concatenate([p.hr for p in parts]),
            starts=None if first.starts is None else np.concatenate([p.starts for p in parts]),
        )
