"""Traces: face -> ROI traces, extracted once per video and cached (:mod:`.traces`).

Above :mod:`hrbench.plugin`: extraction resolves ROI schemes and
landmarkers by name through the plugin host.
"""
