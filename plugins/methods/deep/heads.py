"""Names of the prediction heads and readouts, importable without torch (method parameters list them; plugins
load lazily)."""

#: One regressed number (the papers) or a distribution over 1-bpm bins (:mod:`.resnet`).
HEADS = ("regression", "bins")
#: How the ``bins`` head's distribution becomes one HR: the mean of every bin, or of the bins around its peak.
READOUTS = ("mean", "peak")
