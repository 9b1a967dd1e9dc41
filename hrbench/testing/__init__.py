"""Conformance checks for hrbench plugins, usable from a plugin's own pytest.

Why: the runner trusts a method's shapes, units and NaN behaviour, an
adapter's ids and ground truth, and an ROI scheme's region means, in
hundreds of places.  A plugin that breaks the contract does not crash -- it
produces a leaderboard row that is quietly wrong (Hz instead of bpm, a
made-up HR for a clip with no face, a result that changes with the batch
size, BGR means read as RGB).  These checks make the contract executable,
in the spirit of scikit-learn's ``check_estimator``::

    from hrbench.testing import check_method, check_adapter, check_roi_scheme, parametrize_with_checks

    def test_my_method():
        check_method(MyMethod)              # raises ConformanceError listing every failure

    @parametrize_with_checks([MyMethod, MyScheme, (MyAdapter, DATA_ROOT)])
    def test_conformance(check):            # one pytest case per check
        check()

Every ``check_*`` returns the list of :class:`CheckResult` (passed / skipped,
with the reason a check was skipped) and raises :class:`ConformanceError`
(an ``AssertionError``) if any check failed.  ``hrbench plugins --check``
runs the same checks over every installed plugin and prints a table.

One module per kind of plugin (:mod:`.methods`, :mod:`.adapters`,
:mod:`.landmarkers`, :mod:`.roi_schemes`), the shared outcome types in
:mod:`.results`, the generated test data in :mod:`.synthetic`; import the
names below from ``hrbench.testing`` itself.
"""

from __future__ import annotations

from .adapters import adapter_checks, check_adapter
from .landmarkers import check_landmarker, landmarker_checks
from .methods import RECOVERY_TOL_BPM, SUPERVISED_MAE_RATIO, check_method, method_checks
from .results import Check, CheckResult, CheckSkipped, ConformanceError, Status, run_checks
from .roi_schemes import check_roi_scheme, roi_scheme_checks
from .suite import check_registry, iter_checks, parametrize_with_checks
from .synthetic import PULSE_RGB, SKIN_RGB, face_image, face_landmarks, synthetic_clips

__all__ = [
    "PULSE_RGB",
    "RECOVERY_TOL_BPM",
    "SKIN_RGB",
    "SUPERVISED_MAE_RATIO",
    "Check",
    "CheckResult",
    "CheckSkipped",
    "ConformanceError",
    "Status",
    "adapter_checks",
    "check_adapter",
    "check_landmarker",
    "check_method",
    "check_registry",
    "check_roi_scheme",
    "face_image",
    "face_landmarks",
    "iter_checks",
    "landmarker_checks",
    "method_checks",
    "parametrize_with_checks",
    "roi_scheme_checks",
    "run_checks",
    "synthetic_clips",
]
