"""hrbench: an open benchmarking suite for remote photoplethysmography.

Data flows one way: dataset adapter -> recordings -> ROI traces (cached) ->
clips -> method -> per-clip and per-video predictions -> results store ->
leaderboard.  See ``DESIGN.md`` (shared) and ``README.md``.

One package per stage, each importing only the ones listed before it
(``tests/test_stage_levels.py`` checks it): :mod:`.data`, :mod:`.pulse`,
:mod:`.plugin` (the plugin contract and host), :mod:`.traces`, :mod:`.clips`,
:mod:`.check` and :mod:`.store`, :mod:`.run` and :mod:`.boards`,
:mod:`.roi_view` and :mod:`.site`, then the facades plugins import
(:mod:`.api`, :mod:`.testing`) and the command line (:mod:`.cli`).
"""

__version__ = "0.1.0"

# Bumped whenever trace extraction changes in a way that alters the numbers,
# so cached ROI traces from older code are never reused silently.
TRACE_CODE_VERSION = "1"
