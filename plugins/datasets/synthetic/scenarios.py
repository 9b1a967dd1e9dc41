"""Recording scenarios, in the spirit of VIPL-HR's tasks.

VIPL-HR (Niu et al. 2018/2019) records every subject in several situations
-- stable, talking, large head movement, dark, bright, long distance, after
exercise -- because each breaks a different assumption of rPPG methods.
The synthetic set mirrors them and adds a gradual illumination change and
mains flicker, which are common in practice:

=================  =============================================================
``still``          sitting still: small sway, breathing and ballistocardiac motion
``talking``        speaking: jaw movement (syllables 3-6 Hz, phrases and pauses),
                   nods, slightly raised HR, irregular breathing
``head_motion``    large head rotation (yaw ~ +-30 deg) and translation
``dim_light``      ~70x less light, warm lamp: AE runs out of range -> dark, noisy
``bright_flicker`` bright mains-powered light: short exposure sees 100/120 Hz
                   flicker, which the jittered frame clock aliases
``light_change``   light level changes 2-5x (and colour temperature, direction)
                   during the video; AE and AWB follow with a lag
``far``            face at ~55 % of the normal size (far from the camera)
``exercise``       after exercise: HR 25-50 bpm above rest and recovering,
                   fast deep breathing, more perfusion, sweat (specular)
=================  =============================================================

Values are ranges sampled per recording (uniform); motion amplitudes are in
face widths and degrees (RMS); frequencies in Hz.

What the classic methods make of them (``benchmarks/synthetic_realism.py``,
reports in ``leaderboards/studies/``): on ``synthetic-large`` (40 videos per
scenario) the literature's expectations hold for still faces (all four
within ~1 bpm on skin I-III), head motion (CHROM and POS far ahead of green
and ICA), flicker (green fails, the chrominance methods cancel it),
illumination change (green degrades most), darker skin and small faces.
Two departures, both investigated rather than tuned away:

* ``talking``: POS is best, but CHROM is no better than ICA.  Measured on
  the five ``talking`` videos of the default set (mean error of 10 s clips
  against the BVP's HR, CHROM / ICA / POS): as generated 8.4 / 6.0 / 0.6
  bpm; re-rendered without jaw movement 2.3 / 6.6 / 0.6; without the
  speech-related head rotations 0.5 / 0.5 / 2.3.  So the nods and turns
  (3-4 deg RMS, 0.2-1.5 Hz: they reach into the HR band) cause most of it:
  rotation moves specular highlights (light-coloured, additive) and changes
  which skin the ROI covers, colour changes that CHROM's fixed projection
  passes and POS's per-window tuning largely removes; jaw movement adds to
  it for CHROM.  Not a bug; kept, as people do nod while they talk.
* ``light_change`` on the small default set (4 videos): all four degrade by
  a few bpm and POS as much as green, the reverse of the large set.  We
  looked for a generator or method bug and found the model's own doing:
  the camera's auto exposure follows the level change (time constant
  0.7 s), so the luminance change reaching the trace is only AE's lag and
  dead-band steps, mostly below the HR band, while the colour-temperature
  change that comes with a real light change (and that AWB follows only
  partly) is chromatic, which CHROM and POS cannot cancel.  Measured on
  those four videos (POS / green, mean error of 10 s clips against the
  BVP's HR): as generated 8.9 / 7.4 bpm; re-rendered with the colour
  temperature held fixed 2.6 / 6.9; with the level held fixed 8.2 / 12.8.
  Which effect dominates depends on the draw of level and colour changes;
  webcams do run AE and AWB, so the scenario stays as it is.

``dim_light`` hurts every method (the warm lamp leaves the blue channel a
few grey levels deep and AE's gain amplifies sensor noise), CHROM and POS
most on the default set.
"""

from __future__ import annotations

from dataclasses import dataclass

Range = tuple[float, float]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # Motion.
    sway: float = 1.0  # multiplier on the subject's habitual small motion
    translate: float = 0.0  # RMS deliberate translation, face widths
    rotate_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)  # RMS yaw, pitch, roll
    motion_band: Range = (0.05, 0.5)
    talking: bool = False
    breathing_motion: float = 1.0
    # Light.
    light_level: Range = (0.8, 1.25)  # x nominal
    light_cct: Range = (4000.0, 5500.0)
    light_change_octaves: Range = (0.0, 0.0)  # |log2| of the level change during the video
    cct_change: Range = (0.0, 0.0)  # kelvin
    flicker_depth: Range = (0.0, 0.0)
    # Distance.
    face_scale: Range = (0.92, 1.08)  # x nominal face size
    # Physiology.
    hr_offset: Range = (-3.0, 3.0)  # bpm relative to the subject's resting HR
    exercise_excess: Range = (0.0, 0.0)  # bpm above the level at t = 0
    resp_factor: Range = (0.9, 1.1)
    perfusion: float = 1.0
    specular: float = 1.0


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("still", "sitting still, normal light"),
        Scenario(
            "talking",
            "talking: jaw movement, nods, irregular breathing",
            sway=1.5,
            rotate_deg=(3.0, 4.0, 2.0),
            motion_band=(0.2, 1.5),
            talking=True,
            hr_offset=(1.0, 7.0),
            resp_factor=(0.8, 1.2),
        ),
        Scenario(
            "head_motion",
            "large head rotation and translation",
            sway=1.5,
            translate=0.22,
            rotate_deg=(16.0, 8.0, 9.0),
            motion_band=(0.05, 0.6),
            hr_offset=(0.0, 5.0),
        ),
        Scenario(
            "dim_light",
            "dim warm light: dark, noisy frames",
            light_level=(0.008, 0.02),
            light_cct=(2600.0, 3200.0),
            hr_offset=(-4.0, 2.0),
        ),
        Scenario(
            "bright_flicker",
            "bright mains light with 100/120 Hz flicker",
            light_level=(3.0, 5.0),
            light_cct=(4500.0, 6500.0),
            flicker_depth=(0.05, 0.15),
        ),
        Scenario(
            "light_change",
            "gradual illumination change (level, colour, direction)",
            light_level=(0.6, 1.4),
            light_cct=(3000.0, 6000.0),
            light_change_octaves=(1.0, 2.3),
            cct_change=(1000.0, 2500.0),
        ),
        Scenario("far", "far from the camera: small face", face_scale=(0.5, 0.6)),
        Scenario(
            "exercise",
            "after exercise: high, recovering HR; fast breathing; sweat",
            sway=1.5,
            breathing_motion=3.0,
            hr_offset=(0.0, 5.0),
            exercise_excess=(25.0, 50.0),
            resp_factor=(1.6, 2.2),
            perfusion=1.3,
            specular=1.8,
        ),
    )
}

SCENARIO_NAMES: tuple[str, ...] = tuple(SCENARIOS)
