"""GREEN: the green-channel trace as the pulse (Verkruysse et al., 2008).

Verkruysse, Svaasand and Nelson showed that the spatially averaged green
channel of a face under ambient light carries the strongest
photoplethysmographic signal, because haemoglobin absorbs green light most
(and green penetrates deep enough to reach the pulsating vessels).  The
method is the baseline every later one improves on: it has no defence
against illumination changes or motion, which modulate all three channels
alike.

Choices where the paper is silent or specific to its setup:

* The paper band-passed and Fourier-analysed the raw green trace; here the
  trace is divided by its clip mean (a unit-free relative change; it does
  not move the spectral peak) and handed to :func:`hrbench.pulse.hr.spectral_hr`,
  which detrends, band-passes to the protocol's HR band and picks the peak.
* ROI: the paper used a manually chosen forehead region; hrbench uses the
  ``face_skin`` ROI so that all classic methods see identical traces.
"""

from __future__ import annotations

import numpy as np

from hrbench.api import HRSettings, hookimpl

from ._classic import DEFAULT_HR, EPS, ClassicMethod


class GreenMethod(ClassicMethod):
    name = "green"
    description = "Green channel of the face-skin trace, spectral peak (Verkruysse 2008)"
    citation = (
        "W. Verkruysse, L. O. Svaasand, J. S. Nelson. Remote plethysmographic imaging using "
        "ambient light. Optics Express 16(26):21434-21445, 2008."
    )

    def pulse(self, rgb: np.ndarray, fps: float, settings: HRSettings = DEFAULT_HR) -> np.ndarray:
        g = rgb[..., 1]
        return g / np.maximum(g.mean(axis=-1, keepdims=True), EPS) - 1.0


@hookimpl
def register_methods(register):
    register(GreenMethod)
