"""See the ROI: one recording's face regions, signals and heart rates, drawn.

Why this exists: when a method gets one video badly wrong, the number alone
does not say whether the *face* was lost or mis-framed, the *signal* carries
no pulse (motion, flicker, dark skin, a tiny face), or the *estimator* picked
the wrong peak.  ``hrbench inspect`` writes three files that answer that at a
glance:

* ``frames.png`` -- a few frames spread over the span, the 68 landmarks and
  every built-in ROI scheme's regions (the ``face_skin`` mask with eyes and
  mouth cut out, SynRhythm's 10 x 20 cheek grid, the aligned-face 5 x 5
  blocks), one row per scheme; frames where the run lost the face are marked
  (:mod:`.frames_figure`, geometry in :mod:`.geometry`).
* ``signals.png`` -- the raw mean-RGB ``face_skin`` trace, the method's pulse
  and the ground truth over the same span, each next to its in-band spectrum
  with the estimated heart rates marked (:mod:`.signals_figure`).  Any
  method with ``produces_pulse`` is shown, a plugin's included: its pulse
  comes from ``predict_pulse`` on traces of its own ROI scheme
  (:mod:`.signals`).
* ``summary.txt`` -- the numbers behind the figures (:mod:`.summary`).

What it shows is what the benchmark used: the traces are read through the
same cache as ``hrbench run`` (:func:`hrbench.traces.traces.extract_and_cache` with
the registry's landmarker; extracted and cached on first use), heart rates
come from :mod:`hrbench.pulse.hr` with the protocol's settings, and the reference
is read by :func:`hrbench.pulse.hr.signal_hr` exactly as the runner reads it.  Only
the few frames shown are decoded again, and only they are given to the
landmarker (each on its own, so a face the run *tracked* may occasionally
not be re-detected on a lone frame; the figure says so when it happens).
"""

from __future__ import annotations

from .command import find_recording, inspect_recording, parse_span, safe_name
from .frames import choose_frames, read_frames
from .geometry import cheek_grid_nodes, face_grid_nodes, face_skin_mask, face_skin_polygons
from .summary import InspectResult

__all__ = [
    "InspectResult",
    "cheek_grid_nodes",
    "choose_frames",
    "face_grid_nodes",
    "face_skin_mask",
    "face_skin_polygons",
    "find_recording",
    "inspect_recording",
    "parse_span",
    "read_frames",
    "safe_name",
]
