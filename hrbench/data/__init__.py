"""Data: the dataset-adapter contract and what it lists.

A recording (:mod:`.recording`), the adapter base and its problems
(:mod:`.dataset`), frame decoding (:mod:`.video`), strict text reading
(:mod:`.textio`) and timing repair (:mod:`.timing`).  The lowest stage:
it imports only :mod:`hrbench.errors` and :mod:`hrbench.fsutil`.
"""
