"""Operations an augmentation set dispatches per batch: what bounds it where kernels are tiny.

    python benchmarks/dispatch_count.py [SET] [--size 512] [--batch 16]

On a GPU every operation is a kernel launch of a few microseconds, whatever the image size, so
a step that launches hundreds of them is bound by the host, not the device. This counts them
without a GPU: the set runs on PyTorch's ``meta`` device, which takes the same code paths as
CUDA (``augmentlab.tensors.constant`` builds its tensors from fills there) but computes nothing.
Views (select, unsqueeze, expand, ...) launch no kernel and are counted apart. It also times one
call at 32×32 on the CPU, one thread, where the per-operation cost dominates too.

Default SET: the reference study's ``hflip,vflip,rot90,affine,elastic,grid,brightness,contrast``
followed by the ImageNet normalisation that every training step applies.
"""

from __future__ import annotations

import argparse
import collections
import json
import time

import torch
from torch.profiler import ProfilerActivity, profile

from augmentlab.augment.pipeline import build_augmentation
from augmentlab.registry.loading import load_plugins
from augmentlab.runner.model import normalize_images

REFERENCE = "hflip,vflip,rot90,affine,elastic,grid,brightness,contrast"
# Operations that return a view or only metadata: no kernel runs for them.
VIEWS = {
    "aten::alias", "aten::as_strided", "aten::detach", "aten::detach_", "aten::empty", "aten::empty_like", "aten::empty_strided",
    "aten::expand", "aten::lift_fresh", "aten::permute", "aten::reshape", "aten::select", "aten::slice", "aten::split",
    "aten::squeeze", "aten::t", "aten::to", "aten::transpose", "aten::unbind", "aten::unsqueeze", "aten::view", "aten::_unsafe_view",
}


def operations(spec: str, size: int, batch: int, device: torch.device) -> collections.Counter:
    """Top-level aten operations of one call of ``spec`` (then the normalisation) on ``device``."""
    augment = build_augmentation(spec, ignore_index=255)
    images = torch.rand(batch, 3, size, size, device=device)
    masks = torch.zeros(batch, size, size, dtype=torch.long, device=device)

    def step() -> None:
        augmented, _ = augment(images, masks)
        normalize_images(augmented, torch.channels_last)

    step()  # shared tensors are built on the first call, as in the first training step
    with profile(activities=[ProfilerActivity.CPU]) as trace:
        step()
    return collections.Counter(event.name for event in trace.events() if event.cpu_parent is None)


def cpu_microseconds(spec: str, repeats: int = 200) -> float:
    """Mean microseconds of ``repeats`` calls at 32×32, batch 16, one thread: mostly the per-operation cost."""
    torch.set_num_threads(1)
    augment = build_augmentation(spec, ignore_index=255)
    images, masks = torch.rand(16, 3, 32, 32), torch.zeros(16, 32, 32, dtype=torch.long)
    for _ in range(5):
        augment(images, masks)
    started = time.perf_counter()
    for _ in range(repeats):
        normalize_images(augment(images, masks)[0], torch.channels_last)
    return (time.perf_counter() - started) / repeats * 1e6


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=REFERENCE)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    arguments = parser.parse_args()
    load_plugins()
    counted = operations(arguments.spec, arguments.size, arguments.batch, torch.device("meta"))
    kernels = {name: count for name, count in counted.items() if name not in VIEWS}
    print(json.dumps({
        "spec": arguments.spec,
        "kernels_per_call": sum(kernels.values()),
        "views_per_call": sum(counted.values()) - sum(kernels.values()),
        "cpu_us_per_call_32px": round(cpu_microseconds(arguments.spec)),
        "most_common": dict(collections.Counter(kernels).most_common(12)),
    }, indent=1))
