"""The classic training pipeline of the reference study, timed: albumentations in DataLoader workers, fp32.

Each sample is decoded from its files in a worker, augmented on the CPU by the albumentations
equivalents of an augmentlab augmentation set (at the same p), normalised with ImageNet
mean/std and converted with ToTensorV2; the same DeepLabV3+ as augmentlab's then trains in
fp32 with Adam and the same loss. The pipeline itself is
:func:`augmentlab.diagnostics.bench_train.time_reference_epochs`, which ``augmentlab bench train`` also runs
next to augmentlab's own loop; this script runs it alone and prints its figures as JSON::

    python benchmarks/reference_loop.py --device cpu --workers 2 --epochs 2
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from augmentlab.data import load_dataset
from augmentlab.diagnostics.bench_train import (
    REFERENCE_AUGMENTATIONS,
    default_workers,
    time_reference_epochs,
)
from augmentlab.errors import AugmentlabError
from augmentlab.runner.recipe import build_recipe

__all__ = ["time_reference_epochs"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aug", default=REFERENCE_AUGMENTATIONS, help="augmentation set (default: the reference study's)")
    parser.add_argument("--loss", default="ce", help="loss spec (default: ce)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="DataLoader workers (default: CPU cores, at most 8)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs; with several, the first is warm-up (default: 4)")
    parser.add_argument("--image-size", type=int, help="training size in pixels (default: the device's preset)")
    parser.add_argument("--batch-size", type=int, help="images per step (default: the device's preset)")
    parser.add_argument("--encoder", help="smp encoder (default: the device's preset)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=("cpu", "cuda"))
    parser.add_argument("--data", help="a COCO json (default: augmentlab's demo training data)")
    args = parser.parse_args(argv)
    try:
        overrides = {"epochs": args.epochs, "image_size": args.image_size, "batch_size": args.batch_size, "encoder": args.encoder, "encoder_weights": "none"}
        recipe = build_recipe("standard" if args.device == "cuda" else "demo", overrides)
        dataset = load_dataset(args.data, size=(recipe.image_size, recipe.image_size))
        timing = time_reference_epochs(dataset, args.aug, args.loss, recipe, args.device, args.workers)
    except AugmentlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(timing.as_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
