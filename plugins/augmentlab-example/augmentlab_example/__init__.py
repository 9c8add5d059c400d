"""An example augmentlab plugin: ``solarize`` (augmentation) and ``poly`` (loss)."""
