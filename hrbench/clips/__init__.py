"""Clips: how a protocol turns a recording's traces into clips, folds and training subsets.

The protocol (:mod:`.protocol`: splits, clip length, evaluation rule,
HR settings), cutting cached traces into clips and evaluation windows
(:mod:`.sampling`) and the training subsets a run draws (:mod:`.subsets`).
The :class:`~hrbench.plugin.clips.Clips` batch itself is part of the
method contract, in :mod:`hrbench.plugin`.
"""
