"""Check: ``hrbench datasets check`` -- would a run use every recording of a copy?

The core's per-recording checks (:mod:`.recording_check`), the protocol's
(:mod:`.protocol_check`) and the report combining them with the adapter's
own check (:mod:`.dataset_check`).  Each calls the functions a run calls.
"""
