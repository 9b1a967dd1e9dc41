"""A competing light near 1 Hz that waxes and wanes: what makes a 30-s window's spectral peak lie.

Why: on real UBFC-rPPG recordings (about 60 s each) POS scored 1.34 bpm with
one HR per video but 9.83 with the median of 30-s windows: in 3 of 10
subjects one or two windows locked onto a narrow 54-62 bpm component while
the pulse stayed the peak of the whole recording (issue #22).  A competitor
of that kind -- narrow, near 1 Hz, strong for tens of seconds and weak
otherwise -- owns the windows where it is strong; averaged over the whole
recording it is diluted below the pulse, whose power is steady (spread a
little by HR variability, plus harmonics the competitor lacks).

The model: a screen in front of the subject (UBFC's subjects look at one)
supplies a share ``share`` of the light on the face.  Its content pulses at
``freq_hz`` (an animation, a blinking element), so its light is
``1 + depth * envelope(t) * sin(2 pi freq_hz t + phase)`` times its mean,
with one swell (:func:`envelope`) of ``swell_s`` seconds (10-18) centred at
``peak_s`` (30-45 % or 55-70 % into the recording): the competitor waxes
and wanes over tens of seconds and is absent otherwise.  Within a 30-s window
that holds the whole swell its power is twice its average over a 60-s
recording: the window can lock onto it while the whole recording keeps the
pulse.  A swell about as short as the 15 s two neighbouring windows share,
centred there, is in both, and can lock two of three windows -- and their
median, the failure seen on real video.  (Longer swells carry more energy
for the same peak: with 15-30 s anywhere in the middle half, the whole
recording locked as often as two windows alone.)
The screen's colour (a cool white point tinted by its content) differs from
the room light's, so the modulation is chromatic as well as a level change:
CHROM and POS, which cancel changes common to R, G and B, do not cancel it.
The frequency is fixed (a periodic animation), so the component is narrow.

Strength: the competitor's peak level on the face (``share * depth``,
``competitor_level``) is drawn as 1-3 times the recording's relative pulse
amplitude.  The competitor has to beat the pulse *after* H.264: compression
codes a global light change faithfully and quantises the pulse's fraction of
a grey level, darker skin's most, so on CRF-16 video POS needed 1.3-2.8 times
the pulse's amplitude before a window locked, and uncompressed MJPG 2-4
times.  What it does is a draw, not a given; measured with the protocols'
Welch settings (face-skin ROI, MediaPipe landmarks) on the 12 long
recordings of ``synthetic`` and ``synthetic-dev``: POS had two or three
windows locked onto the competitor in 6; in 5 of them the whole recording
locked too (error > 5 bpm; skin types IV-VI), in one (type V) it held
(-3.5 bpm) while the windows' median did not (-7.5).  Green locks more often,
CHROM less.  With a window/whole power ratio of at most 2 the band where
windows lock but the whole recording does not is narrow (over all
calibration runs, 3 of ~50 recordings), so a study of the windowed rule
needs many long recordings (``long_recordings`` up to ``n_subjects``).

The parameters are drawn per recording from their own random stream (the
other draws of a recording do not move) and written to its ``info.json``
(``competitor_*``), with the peak chromatic depth it reaches on the face
(``competitor_chroma``), so studies can break results down by them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import optics

#: Competitor frequencies, bpm (the band seen on real video).
FREQ_BPM = (54.0, 62.0)
#: Share of the face's light that comes from the screen.
SHARE = (0.10, 0.20)
#: Peak modulation of the face's light (``share * depth``) over the recording's pulse amplitude
#: (:data:`.render.PULSE_AMPLITUDE` with the subject's and scenario's factors; relative, peak to peak).
RATIO = (1.0, 3.0)
#: How long the competitor's swell lasts, s.
SWELL_S = (10.0, 18.0)
#: Where the swell peaks, as a fraction of the recording: either side of its middle, around
#: where two 30-s windows with hop 15 s overlap in a 60-s recording (22.5 s and 37.5 s).
PEAK_FRAC = (0.3, 0.45)
#: The screen's white point (kelvin) and how far its content tints it.
SCREEN_CCT = (6000.0, 9000.0)
TINT = (0.0, 0.35)
#: What ``info.json`` (and a recording's meta) says about a recording's competitor.
COMPETITOR_FIELDS = ("competitor_bpm", "competitor_share", "competitor_depth", "competitor_level",
                     "competitor_swell_s", "competitor_peak_s", "competitor_chroma")


def envelope(times: np.ndarray, swell_s: float, peak_s: float) -> np.ndarray:
    """Amplitude envelope in [0, 1]: ``cos^2(pi (t - peak) / swell)`` within ``swell / 2`` of the peak, 0 elsewhere.

    Smooth (no step where it starts or ends, which would spread power over
    all frequencies); its power (the envelope squared) is above half its
    peak for a third of the swell.
    """
    x = (np.asarray(times, np.float64) - peak_s) / swell_s
    return np.where(np.abs(x) < 0.5, np.cos(np.pi * x) ** 2, 0.0)


@dataclass(frozen=True)
class ScreenLight:
    """One recording's competing light (see the module docstring)."""

    freq_hz: float
    phase: float
    share: float
    depth: float
    swell_s: float
    peak_s: float
    colour_bgr: np.ndarray  # linear BGR, green = 1

    @classmethod
    def draw(cls, duration: float, pulse_amplitude: float, rng: np.random.Generator) -> ScreenLight:
        """The competitor of a ``duration``-second recording whose pulse has relative amplitude ``pulse_amplitude``."""
        cct = float(rng.uniform(*SCREEN_CCT))
        hue = float(rng.uniform(0.0, 2.0 * np.pi))
        sat = float(rng.uniform(*TINT))
        # A tint orthogonal to grey in linear RGB: its content's average colour.
        e1 = np.array([2.0, -1.0, -1.0]) / np.sqrt(6.0)
        e2 = np.array([0.0, 1.0, -1.0]) / np.sqrt(2.0)
        rgb = optics.illuminant_rgb(cct) * np.maximum(1.0 + sat * (np.cos(hue) * e1 + np.sin(hue) * e2), 0.05)
        share = float(rng.uniform(*SHARE))
        return cls(
            freq_hz=float(rng.uniform(*FREQ_BPM)) / 60.0,
            phase=float(rng.uniform(0.0, 2.0 * np.pi)),
            share=share,
            depth=float(rng.uniform(*RATIO)) * pulse_amplitude / share,
            swell_s=float(rng.uniform(*SWELL_S)),
            peak_s=float(rng.uniform(*PEAK_FRAC) if rng.random() < 0.5 else 1.0 - rng.uniform(*PEAK_FRAC)) * duration,
            colour_bgr=optics.rgb_to_bgr(rgb / rgb[1]),
        )

    def modulation(self, times: np.ndarray) -> np.ndarray:
        """Relative change of the screen's light at ``times``: ``depth * envelope * sin(...)``."""
        t = np.asarray(times, np.float64)
        return self.depth * envelope(t, self.swell_s, self.peak_s) * np.sin(2.0 * np.pi * self.freq_hz * t + self.phase)

    def apply(self, times: np.ndarray, level: np.ndarray, colour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The room light ``level`` (N,) and ``colour`` (N, 3; BGR, green = 1) with the screen's light mixed in.

        Light per channel: ``level * ((1 - share) * colour + share * screen * (1 + modulation))``,
        returned again as a level (its green) and a colour with green = 1.
        """
        g = 1.0 + self.modulation(times)
        total = (1.0 - self.share) * colour + self.share * self.colour_bgr[None, :] * g[:, None]
        new_level = level * total[:, 1]
        return new_level, total / total[:, 1:2]

    def chroma_depth(self, colour: np.ndarray) -> float:
        """Peak chromatic depth on the face: the modulation's relative change per channel, minus its grey part.

        Relative to the mean light (``colour``, the room's average colour), at
        the envelope's peak; a change common to B, G and R (which CHROM and
        POS cancel) counts zero.
        """
        room = np.asarray(colour, np.float64)
        total = (1.0 - self.share) * room + self.share * self.colour_bgr
        rel = self.share * self.depth * self.colour_bgr / total
        return float(np.sqrt(np.sum((rel - rel.mean()) ** 2)))

    def info(self, colour: np.ndarray) -> dict[str, float]:
        """The ``competitor_*`` fields of ``info.json`` (:data:`COMPETITOR_FIELDS`)."""
        return {
            "competitor_bpm": round(60.0 * self.freq_hz, 3),
            "competitor_share": round(self.share, 4),
            "competitor_depth": round(self.depth, 4),
            "competitor_level": round(self.share * self.depth, 5),
            "competitor_swell_s": round(self.swell_s, 2),
            "competitor_peak_s": round(self.peak_s, 2),
            "competitor_chroma": round(self.chroma_depth(colour), 5),
        }
