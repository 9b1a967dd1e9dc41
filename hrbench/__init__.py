"""hrbench: an open benchmarking suite for remote photoplethysmography.

Data flows one way: dataset adapter -> recordings -> ROI traces (cached) ->
clips -> method -> per-clip and per-video predictions -> results store ->
leaderboard.  See ``DESIGN.md`` (shared) and ``README.md``.
"""

__version__ = "0.1.0"

# Bumped whenever trace extraction changes in a way that alters the numbers,
# so cached ROI traces from older code are never reused silently.
TRACE_CODE_VERSION = "1"
