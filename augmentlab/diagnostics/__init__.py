"""Looking at and timing the building blocks: ``preview`` (a PNG of augmented samples), ``bench_augment`` and
``bench_train`` (speed against stock kornia and albumentations), and ``equivalents`` (the stock transform closest to each built-in)."""
