"""What streaming a split costs: training batches a second from the decoded cache against a streamed split.

    python benchmarks/stream_throughput.py [--images 96] [--size 512] [--batch 16] [--device cpu|cuda] [--workers N]

A split larger than memory is decoded batch by batch by DataLoader workers
(:class:`augmentlab.data.stream.StreamingSource`); a cached split is decoded once and batches are
gathered by index. This generates demo JPEGs at ``--size`` (the photos' own size: the workers
decode and resize each one, as they would a real export), then times one epoch of batches from
each, after one untimed epoch (the cache's decode, the workers' start-up). On CUDA each batch is
waited for, so the figure is what the step loop would get with a model that takes no time: if a
model step takes longer than a batch here, streaming does not slow training.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import augmentlab
from augmentlab.data.cache import TensorCache
from augmentlab.data.demo.generator import generate_demo_dataset
from augmentlab.data.stream import StreamingSource, stream_workers


def images_per_second(source, batch_size: int, device: str) -> float:
    for indices in source.epoch_order(0, 0, batch_size):  # warm: decode, start the workers
        source.batch(indices)
    batches = source.epoch_order(1, 0, batch_size)
    started = time.perf_counter()
    for indices in batches:
        images, masks = source.batch(indices)
        if device == "cuda":
            torch.cuda.synchronize()
    return len(batches) * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--size", type=int, default=512, help="the photos' size and the training size")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: as an ablation would start)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        demo = generate_demo_dataset(Path(folder), train_images=args.images, val_images=1, size=(args.size, args.size))
        split = augmentlab.load_dataset(demo.train_json, images=demo.images, size=(args.size, args.size))
        workers = stream_workers() if args.workers is None else args.workers
        cached = images_per_second(TensorCache.build(split, args.device), args.batch, args.device)
        streamed = images_per_second(StreamingSource(split, args.device, workers=workers), args.batch, args.device)
    print(json.dumps({
        "device": args.device, "images": args.images, "size": args.size, "batch": args.batch, "workers": workers,
        "cached_images_per_second": round(cached, 1), "streamed_images_per_second": round(streamed, 1),
    }))


if __name__ == "__main__":
    main()
