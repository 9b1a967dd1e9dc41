"""What a synthetic dataset is made of: size, scenarios, camera format, seed.

The settings (plus :data:`GENERATOR_VERSION` and a checksum of the two base
photos) are hashed into the dataset's directory name, so a copy is
regenerated exactly when something that changes its content changes -- and
never otherwise.  Bump the version whenever the generator's output changes
for the same settings.

Presets:

* ``synthetic`` (:data:`DEFAULT`): 10 subjects x 4 videos x 30 s at 30 fps,
  640 x 480 -- ~36k frames, sized so a whole default run (generation,
  landmark tracking, training) fits in a few minutes on two idle cores.
  Each subject has ``still`` plus three of the other seven scenarios in
  rotation, so every scenario appears 4-5 times.

Why 640 x 480 (generator version 2; version 1 rendered 320 x 240): the face
is ~30 % of the frame width, so ~190 pixels wide, as in the datasets the
benchmark imitates (VIPL-HR, UBFC and PURE record 640 x 480, MAHNOB-HCI
780 x 580; faces ~150-400 pixels wide).  At 320 x 240 the ~95-pixel face
held a quarter of the skin pixels, so sensor and JPEG noise were twice as
strong relative to the pulse as in those recordings: POS on 10 s clips of
the face-skin ROI erred by 10.4 bpm on average, and by 5.8 bpm at 640 x 480
(same subjects and scenarios).

Version 3 renders the same bytes on every x86-64 machine with the pinned
packages (OpenCV without CPU dispatch or IPP during rendering, no BLAS in
the per-frame arithmetic; see :func:`.render.deterministic_opencv`).
Version 2's output depended on the CPU in the last bits, which became
different pixels, JPEG bytes and auto-exposure steps.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hrbench.fsutil import stable_hash

from .scenarios import SCENARIO_NAMES

GENERATOR_VERSION = "3"  # 2: PPG template with real harmonic fall-off; 3: same bytes on every x86-64 CPU


@dataclass(frozen=True)
class SyntheticSettings:
    """Size and format of a generated dataset.

    ``videos_per_subject`` below ``len(scenarios)`` gives each subject the
    first scenario plus a rotating choice of the others.
    """

    n_subjects: int = 10
    scenarios: tuple[str, ...] = SCENARIO_NAMES
    videos_per_subject: int = 4
    duration_s: float = 30.0
    fps: float = 30.0
    size: tuple[int, int] = (640, 480)  # width, height
    seed: int = 0
    bvp_fs: float = 60.0
    jpeg_quality: int = 85

    def __post_init__(self) -> None:
        unknown = [s for s in self.scenarios if s not in SCENARIO_NAMES]
        if unknown:
            raise ValueError(f"unknown scenario(s) {unknown}; known: {', '.join(SCENARIO_NAMES)}")
        if not self.scenarios or self.n_subjects < 1 or self.videos_per_subject < 1:
            raise ValueError("need at least one subject, scenario and video per subject")
        w, h = self.size
        if w % 8 or h % 8 or w < 64 or h < 48:
            raise ValueError(f"frame size must be multiples of 8 and at least 64x48, got {self.size}")
        if self.duration_s < 2.0 or self.fps <= 0 or self.bvp_fs <= 0:
            raise ValueError("duration must be >= 2 s and rates positive")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("jpeg_quality must be in 1..100")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scenarios"] = list(self.scenarios)
        d["size"] = list(self.size)
        return d

    def digest(self) -> str:
        """Content hash of the settings, generator version and base photos (the cache directory suffix)."""
        from .faces import photo_fingerprint

        return stable_hash({"settings": self.to_dict(), "generator": GENERATOR_VERSION, "photos": photo_fingerprint()})


DEFAULT = SyntheticSettings()
LARGE = SyntheticSettings(n_subjects=40, videos_per_subject=len(SCENARIO_NAMES), seed=1)
#: Same size and mix as :data:`DEFAULT`, other people: where defaults are chosen (no board reports on it).
DEV = SyntheticSettings(seed=2)
