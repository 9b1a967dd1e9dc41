"""What a synthetic dataset is made of: size, scenarios, camera format, seed.

The settings (plus :data:`GENERATOR_VERSION` and a checksum of the two base
photos) are hashed into the dataset's directory name, so a copy is
regenerated exactly when something that changes its content changes -- and
never otherwise.  Bump the version whenever the generator's output changes
for the same settings.

Presets:

* ``synthetic`` (:data:`DEFAULT`, what the boards use): 20 subjects x 2
  videos -- ``still`` plus one of the other seven scenarios in rotation (each
  appears 2-3 times) -- 30 s at 30 fps, 640 x 480, of which 6 ``still``
  recordings are long (60 s), H.264-compressed and carry a competing light
  near 1 Hz (:mod:`.interference`, :mod:`.h264`).  41,400 frames, 15 % more
  than version 3's 10 x 4 x 30 s (36,000); an H.264 frame costs about twice
  an MJPG one to make (rendering ~7 ms + x264 ~8 ms of CPU against ~7.7 ms),
  so generation takes ~45 % longer than version 3's.
* ``synthetic-dev`` (:data:`DEV`): the same size and mix, another seed.
* ``synthetic-large`` (:data:`LARGE`): 40 subjects x all 8 scenarios x 30 s, no long recordings.
* ``synthetic-46`` (:data:`POWER`): the default design with 46 subjects (14
  long recordings, other people: seed 3), for boards that must be able to
  call a learned method's gain over the training mean.  46 is the larger of
  the two board sizes the learned-methods study projected, before this
  preset existed, for stmap_transfer's measured per-subject gain (-4.0 bpm,
  SD 6.6) at 80 % power after Holm (38 for ``subject_exclusive``, 46 for
  ``whole_video``).  It costs 2.3x the default's generation and extraction,
  so the quickstart keeps ``synthetic``.

Why 20 subjects (version 4; 10 before): boards compare methods with an
exact subject-level sign-flip test, whose smallest two-sided p-value is
``2 / 2^n``; with 10 subjects that is 0.002, and Holm over a board's 27-60
comparisons multiplies it beyond 0.05 -- a board that could call nothing,
whatever the data.  With 20 subjects the smallest p is 1.9e-6 and the
smallest attainable Holm-adjusted p over 60 comparisons 1.1e-4, under
0.001.  Two videos per subject instead of four keep the frame count (the
generation and extraction time) near where it was; what a subject-level
test needs is subjects, not videos per subject.  (22 subjects would fit
the frame budget too -- 45,000 frames -- at ~55 % more generation time.)

Why long, compressed recordings with a competitor (version 4): with 30-s
videos the ``windowed`` rule (30-s windows, hop 15 s) scored exactly like
``whole_video``, so the embedded set could not show how windowed scoring
fails on real ~60-s, H.264-compressed recordings, where a narrow 54-62 bpm
component that waxes and wanes locks single windows (issue #22).  Six per
dataset (subjects spread over the list), 60 s each like UBFC-rPPG's videos:
three windows, the median of which is what the ``windowed`` rule reports.
Each recording's ``info.json`` (and its meta) says what it carries
(``codec``, ``competitor``, ``competitor_*``).

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
different pixels, JPEG bytes and auto-exposure steps.  Version 4 keeps that
for its H.264 recordings by pinning libx264 to one thread and the SSE2
instruction set (:mod:`.h264`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from hrbench.api import stable_hash

from .scenarios import SCENARIO_NAMES

GENERATOR_VERSION = "4"  # 2: PPG template with real harmonic fall-off; 3: same bytes on every x86-64 CPU;
# 4: long H.264 recordings with a competing light near 1 Hz (``long_recordings``)


@dataclass(frozen=True)
class SyntheticSettings:
    """Size and format of a generated dataset.

    ``videos_per_subject`` below ``len(scenarios)`` gives each subject the
    first scenario plus a rotating choice of the others.  ``long_recordings``
    subjects, spread evenly over the list, record their first scenario for
    ``long_duration_s`` instead of ``duration_s``, compressed with H.264
    (CRF ``h264_crf``) and lit by a competing light near 1 Hz
    (:mod:`.interference`); the others are MJPG at ``jpeg_quality``.  The
    field defaults have no long recordings (small copies for tests and
    scripts stay quick); the presets below set them.
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
    long_recordings: int = 0
    long_duration_s: float = 60.0
    h264_crf: int = 16

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
        if not 0 <= self.long_recordings <= self.n_subjects:
            raise ValueError(
                f"long_recordings must be in 0..n_subjects ({self.n_subjects}), got {self.long_recordings}"
            )
        if self.long_recordings and self.long_duration_s < self.duration_s:
            raise ValueError("long_duration_s must be at least duration_s")
        if not 0 <= self.h264_crf <= 51:
            raise ValueError("h264_crf must be in 0..51")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["scenarios"] = list(self.scenarios)
        d["size"] = list(self.size)
        return d

    def digest(self) -> str:
        """Content hash of the settings, generator version and base photos (the cache directory suffix)."""
        from .faces import photo_fingerprint

        return stable_hash({"settings": self.to_dict(), "generator": GENERATOR_VERSION, "photos": photo_fingerprint()})


DEFAULT = SyntheticSettings(n_subjects=20, videos_per_subject=2, long_recordings=6)
LARGE = SyntheticSettings(n_subjects=40, videos_per_subject=len(SCENARIO_NAMES), seed=1)
#: Same size and mix as :data:`DEFAULT`, other people: where defaults are chosen (no board reports on it).
DEV = replace(DEFAULT, seed=2)
#: The default design with more subjects, for boards with the power to call a ~4 bpm gain (see above).
POWER = replace(DEFAULT, n_subjects=46, long_recordings=14, seed=3)
