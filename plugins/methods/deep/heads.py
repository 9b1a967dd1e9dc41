"""Names of the prediction heads, importable without torch (method parameters list them; plugins load lazily)."""

#: One regressed number (the papers) or a distribution over 1-bpm bins (:mod:`.resnet`).
HEADS = ("regression", "bins")
