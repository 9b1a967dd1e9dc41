"""Pulse: signal processing on pulses and ground truth, shared by every later stage.

HR estimation (:mod:`.hr`), gap filling (:mod:`.signals`), windowed
processing with overlap-add (:mod:`.overlap`) and the plausibility checks
of a ground truth (:mod:`.gt_checks`).  Imports only :mod:`hrbench.data`.
"""
