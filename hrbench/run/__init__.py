"""Run: a benchmark run from prepared data to stored predictions.

The runner (:mod:`.runner`) and its plan (:mod:`.plan`); data preparation
(:mod:`.prepare`: scan -> ROI traces -> clips -> folds); the fold loop
(:mod:`.folds`) and scoring (:mod:`.evaluate`); run identity and
provenance (:mod:`.provenance`); executors (:mod:`.executor`,
:mod:`.ray_executor`), thread and CPU-kernel settings (:mod:`.threads`,
:mod:`.cpu_pinning`) and progress display (:mod:`.progress`).
"""
