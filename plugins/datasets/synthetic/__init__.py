"""Embedded synthetic dataset: rendered face videos with a known pulse.

The default dataset of every run needs no download and no licence: face
videos are rendered from two public-domain portraits that ship inside
installed packages, with a physiological pulse applied through a skin
reflection model, head motion, illumination changes and a webcam's
imperfections, then read back through the same adapter path as recorded
data.  Modules, one job each:

* :mod:`.physiology` -- HR trajectory, respiration, PPG pulse shape
* :mod:`.optics` -- skin reflection (diffuse/specular, blood absorption), skin tones, light
* :mod:`.camera` -- frame clock, AE, AWB, noise, gamma, 8 bits, MJPG/AVI
* :mod:`.h264` -- H.264/MP4 through PyAV for the long recordings, the same bytes on every x86-64 CPU
* :mod:`.interference` -- the long recordings' competing light near 1 Hz that waxes and wanes
* :mod:`.faces` -- base photos, skin/region masks, per-subject looks
* :mod:`.scenarios` -- VIPL-HR-like recording situations
* :mod:`.settings` -- dataset size/format settings, presets, cache key
* :mod:`.population` -- subjects' traits and the recording plan
* :mod:`.dynamics` -- per-frame head pose, jaw and light trajectories
* :mod:`.render` -- one recording to files
* :mod:`.generate` -- whole dataset, atomically, in parallel
* :mod:`.adapter` -- the ``synthetic``, ``synthetic-dev``, ``synthetic-large`` and ``synthetic-46`` adapters

Tests and scripts can render a tiny copy quickly::

    from hrbench_plugins.datasets.synthetic import SyntheticSettings, generate
    generate(SyntheticSettings(n_subjects=2, scenarios=("still", "dim_light"),
                               videos_per_subject=2, duration_s=6, size=(160, 120)), tmp_path / "syn")
"""

from __future__ import annotations

from hrbench.api import hookimpl

from .adapter import (
    SyntheticAdapter,
    SyntheticDevAdapter,
    SyntheticLargeAdapter,
    SyntheticPowerAdapter,
    load_bvp,
    load_timestamps,
)
from .generate import dataset_dir, generate
from .scenarios import SCENARIO_NAMES, SCENARIOS
from .settings import DEFAULT, DEV, LARGE, POWER, SyntheticSettings

__all__ = [
    "DEFAULT",
    "DEV",
    "LARGE",
    "POWER",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "SyntheticAdapter",
    "SyntheticDevAdapter",
    "SyntheticLargeAdapter",
    "SyntheticPowerAdapter",
    "SyntheticSettings",
    "dataset_dir",
    "generate",
    "load_bvp",
    "load_timestamps",
]


@hookimpl
def register_datasets(register):
    register(SyntheticAdapter)
    register(SyntheticDevAdapter)
    register(SyntheticLargeAdapter)
    register(SyntheticPowerAdapter)
