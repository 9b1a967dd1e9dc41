"""Who is recorded, and in which scenarios: subjects' traits and the recording plan.

Why traits matter: in real datasets a subject's skin tone, resting heart
rate, motion habits and skin perfusion stay the same across their videos.
A learned method can then memorise subjects, so random splits (the same
person in train and test) look better than subject-exclusive ones.  The
synthetic population reproduces that: every trait below is drawn once per
subject and reused in all of its recordings, with only modest per-session
variation.

Distributions (chosen to look like VIPL-HR / UBFC / MAHNOB statistics; no
paper tabulates them, so they are documented here):

* resting HR: log-normal around 72 bpm (SD ~9 bpm), clipped to 50-100;
  scenarios add small offsets and ``exercise`` adds 25-50 bpm that decays,
  giving an imbalanced label distribution -- most recordings at 60-100 bpm,
  a thin tail above 110 bpm from exercise only (VIPL-HR's long right tail).
* skin tone: Fitzpatrick I-VI, imbalanced like public datasets (mostly
  II-IV) but every type present once there are >= 6 subjects.
* perfusion (pulse strength) log-normal, SD ~25 %; region perfusion
  cheeks 1, forehead 0.8-1, nose 0.4-0.6, chin 0.4-0.55, other 0.25-0.4.
* motion habit log-normal (SD ~40 %): some people fidget.
* respiration 15 +- 2.5 breaths/min; RSA 1-4 bpm.
* pulse shape per subject (peak widths, notch position and depth), redrawn
  until it has a dicrotic notch and real PPG's harmonic fall-off (second
  harmonic at most 0.55, third at most 0.25 of the fundamental).
* pulse transit: forehead 20-35 ms after cheeks, nose 5-15 ms, chin 0-10 ms
  before; the finger reference sensor 100-200 ms after the face.
* look: base photo alternates, then mirror, face aspect, warp, hair
  lightness and backdrop hue are random.

Determinism: every random draw comes from a generator seeded by
``(settings.seed, purpose, index...)``, so a subject's traits do not depend
on how many subjects are generated, and recordings can be rendered in any
order or process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import faces, optics
from .physiology import CardioParams, PulseShape, harmonic_ratio, has_dicrotic_notch
from .scenarios import SCENARIO_NAMES, SCENARIOS
from .settings import SyntheticSettings

TONE_WEIGHTS = (0.12, 0.22, 0.24, 0.18, 0.14, 0.10)
MAX_HARMONIC_RATIO = 0.55  # second harmonic / fundamental (amplitude)
MAX_THIRD_HARMONIC_RATIO = 0.25


@dataclass(frozen=True)
class Subject:
    id: str
    index: int
    look: faces.Look
    resting_hr: float
    perfusion: float
    motion_habit: float
    resp_rate: float
    rsa_bpm: float
    pulse_shape: PulseShape
    region_perfusion: tuple[float, ...]
    region_delay: tuple[float, ...]
    sensor_delay: float
    face_size: float

    @property
    def tone(self) -> str:
        return self.look.tone


@dataclass(frozen=True)
class RecordingPlan:
    id: str
    subject: Subject
    scenario: str
    seed: tuple[int, ...]
    cardio: CardioParams
    duration_s: float
    #: A long recording: H.264 and a competing light (settings.long_recordings).
    long: bool = False


def _rng(settings: SyntheticSettings, *key: int) -> np.random.Generator:
    return np.random.default_rng([settings.seed, *key])


def assign_tones(n: int, rng: np.random.Generator) -> list[str]:
    """Fitzpatrick types for ``n`` subjects: imbalanced, all present when n >= 6."""
    w = np.asarray(TONE_WEIGHTS)
    counts = np.floor(w * n).astype(int)
    if n >= len(w):
        counts = np.maximum(counts, 1)
    while counts.sum() > n:
        counts[np.argmax(counts)] -= 1
    rem = w * n - counts
    while counts.sum() < n:
        k = int(np.argmax(rem))
        counts[k] += 1
        rem[k] = -1.0
    tones = [t for t, c in zip(optics.FITZPATRICK, counts, strict=True) for _ in range(c)]
    return [tones[i] for i in rng.permutation(n)]


def sample_subjects(settings: SyntheticSettings) -> list[Subject]:
    tones = assign_tones(settings.n_subjects, _rng(settings, 0))
    photo_offset = int(_rng(settings, 0, 1).integers(2))
    subjects = []
    for i in range(settings.n_subjects):
        r = _rng(settings, 1, i)
        look = faces.Look(
            photo=faces.BASE_PHOTOS[(i + photo_offset) % len(faces.BASE_PHOTOS)],
            tone=tones[i],
            mirror=bool(r.integers(2)),
            aspect_x=float(r.uniform(0.92, 1.08)),
            aspect_y=float(r.uniform(0.95, 1.05)),
            warp_px=float(r.uniform(2.0, 6.0)),
            warp_seed=int(r.integers(2**31)),
            hair_value=float(r.uniform(0.45, 1.15)),
            hue_shift=float(r.uniform(-25.0, 25.0)),
        )
        while True:  # a notch and real PPG's harmonic fall-off (see physiology)
            shape = PulseShape(
                systolic_phase=float(r.uniform(0.17, 0.24)),
                systolic_width=float(r.uniform(0.09, 0.13)),
                diastolic_phase=float(r.uniform(0.48, 0.58)),
                diastolic_width=float(r.uniform(0.10, 0.15)),
                diastolic_ratio=float(r.uniform(0.3, 0.6)),
            )
            if (has_dicrotic_notch(shape) and harmonic_ratio(shape) <= MAX_HARMONIC_RATIO
                    and harmonic_ratio(shape, 3) <= MAX_THIRD_HARMONIC_RATIO):
                break
        subjects.append(
            Subject(
                id=f"s{i + 1:02d}",
                index=i,
                look=look,
                resting_hr=float(np.clip(np.exp(r.normal(np.log(72.0), 0.12)), 50.0, 100.0)),
                perfusion=float(np.exp(r.normal(0.0, 0.25))),
                motion_habit=float(np.exp(r.normal(0.0, 0.4))),
                resp_rate=float(np.clip(r.normal(15.0, 2.5), 9.0, 22.0)),
                rsa_bpm=float(r.uniform(1.0, 4.0)),
                pulse_shape=shape,
                # forehead, cheeks, nose, chin, other (faces.REGIONS)
                region_perfusion=(float(r.uniform(0.8, 1.0)), 1.0, float(r.uniform(0.4, 0.6)),
                                  float(r.uniform(0.4, 0.55)), float(r.uniform(0.25, 0.4))),
                region_delay=(float(r.uniform(0.020, 0.035)), 0.0, float(r.uniform(0.005, 0.015)),
                              float(r.uniform(-0.010, 0.0)), float(r.uniform(-0.02, 0.01))),
                sensor_delay=float(r.uniform(0.10, 0.20)),
                face_size=float(r.uniform(0.9, 1.1)),
            )
        )
    return subjects


def subject_scenarios(settings: SyntheticSettings, index: int) -> list[str]:
    """The scenarios recorded for subject ``index``: all, or the first plus a rotation of the rest."""
    scen = list(settings.scenarios)
    k = min(settings.videos_per_subject, len(scen))
    if k == len(scen):
        return scen
    first, rest = scen[0], scen[1:]
    picks = [rest[(index * (k - 1) + j) % len(rest)] for j in range(k - 1)]
    return [first, *picks]


def recording_cardio(subject: Subject, scenario: str, r: np.random.Generator) -> CardioParams:
    sc = SCENARIOS[scenario]
    excess = float(r.uniform(*sc.exercise_excess))
    shape = subject.pulse_shape
    if excess > 0:
        # At high HR the diastolic wave merges into the systolic one.
        shape = PulseShape(shape.systolic_phase, shape.systolic_width, shape.diastolic_phase,
                           shape.diastolic_width, shape.diastolic_ratio * 0.7)
    return CardioParams(
        hr_level=float(np.clip(subject.resting_hr + r.uniform(*sc.hr_offset) + r.normal(0.0, 2.0), 45.0, 110.0)),
        exercise_excess=excess,
        exercise_tau=float(r.uniform(40.0, 90.0)),
        drift_bpm=float(r.normal(0.0, 2.0)),
        wander_bpm=float(r.uniform(0.5, 2.0)),
        mayer_bpm=float(r.uniform(0.5, 2.0)),
        rsa_bpm=subject.rsa_bpm * float(r.uniform(0.8, 1.2)) * (0.4 if excess > 0 else 1.0),
        resp_rate=subject.resp_rate * float(r.uniform(*sc.resp_factor)),
        resp_variability=0.25 if sc.talking else 0.08,
        riav=float(r.uniform(0.10, 0.25)),
        riiv=float(r.uniform(0.10, 0.30)),
        beat_jitter=0.04,
        sensor_delay=subject.sensor_delay,
        shape=shape,
    )


def long_subjects(settings: SyntheticSettings) -> frozenset[int]:
    """Indices of the subjects whose first-scenario recording is long: spread evenly over the list."""
    n, k = settings.n_subjects, settings.long_recordings
    return frozenset(int((2 * j + 1) * n // (2 * k)) for j in range(k))


def plan_recordings(settings: SyntheticSettings) -> list[RecordingPlan]:
    plans = []
    longs = long_subjects(settings)
    for subj in sample_subjects(settings):
        for pos, scenario in enumerate(subject_scenarios(settings, subj.index)):
            key = (2, subj.index, SCENARIO_NAMES.index(scenario))
            cardio = recording_cardio(subj, scenario, _rng(settings, *key))
            long = pos == 0 and subj.index in longs
            plans.append(RecordingPlan(f"{subj.id}_{scenario}", subj, scenario, (settings.seed, *key), cardio,
                                       settings.long_duration_s if long else settings.duration_s, long))
    return plans
