"""Shared deep-learning building blocks of the STMap (SynRhythm) and RhythmNet/attention plugins.

* :mod:`.stmap` -- spatial-temporal maps from cheek-grid clips (SynRhythm III-A);
* :mod:`.synrhythm` -- the synthetic rhythm generator (SynRhythm III-B);
* :mod:`.resnet` -- ResNet-18 HR regressor, width scaling, offline ImageNet weights;
* :mod:`.train` -- seeded, deterministic Adam + L1 training, inference, checkpoints;
* :mod:`.pretrain` -- synthetic-rhythm pretraining cached under ``cache_dir/checkpoints``;
* :mod:`.selection` -- which training clips a fold uses (cap, fraction, spread over videos);
* :mod:`.facemaps`, :mod:`.augment`, :mod:`.attention` -- the RhythmNet/attention maps,
  augmentation and network.

Nothing here registers a plugin; the plugin modules one level up do.
"""
