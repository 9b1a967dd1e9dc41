"""Plugin: the contract between the core and its plugins, and the host that loads them.

What a plugin builds on or is handed: the method contract
(:mod:`.method`, :mod:`.pulse_method`) and its input :class:`~.clips.Clips`,
the landmarker contract (:mod:`.landmarks`), ROI schemes and the built-in
ones (:mod:`.roi`), the recorded-dataset base (:mod:`.recorded`); the hook
specifications (:mod:`.hookspecs`) and the host (:mod:`.host`).  Why the
:class:`~.clips.Clips` type lives here and not in :mod:`hrbench.clips`: the
host validates methods against it, and trace extraction (above the host,
it looks schemes and landmarkers up by name) comes before clips are cut.
Plugins import all of this through :mod:`hrbench.api`.
"""
