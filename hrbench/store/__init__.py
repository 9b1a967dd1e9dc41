"""Store: the results database and the read API over it.

Every per-clip and per-video prediction with its provenance
(:mod:`.store`), reading runs, videos and folds back (:mod:`.results`),
listing and deleting runs (:mod:`.runs`).
"""
