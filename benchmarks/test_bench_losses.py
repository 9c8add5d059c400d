"""Forward + backward time of every built-in loss on a [16, 11, 256, 256] batch, CPU and CUDA.

Run with ``python -m pytest benchmarks/test_bench_losses.py --benchmark-only``. CUDA rows appear
when a GPU is visible; each timed step ends with a synchronize, so they measure the kernels.
"""

from __future__ import annotations

import pytest
import torch

import augmentlab

SHAPE = (16, 11, 256, 256)
IGNORED_SHARE = 0.05
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
# Few rounds on the CPU, where one Lovász step takes seconds; more on the GPU, where steps are short.
ROUNDS = {"cpu": 3, "cuda": 20}
SPECS = [
    "ce",
    "ce(weight=auto, label_smoothing=0.1)",
    "focal",
    "focal(alpha=auto)",
    "dice",
    "jaccard",
    "tversky(gamma=0.75)",
    "lovasz",
    "lovasz(per_image=true)",
    "ohem",
    "ohem(thresh=none)",
    "ce0.8+focal0.2",
]


@pytest.fixture(scope="module", params=DEVICES)
def batch(request: pytest.FixtureRequest) -> tuple[torch.Tensor, torch.Tensor]:
    """logits float32 [16,11,256,256] (requires grad) and target int64 [16,256,256] with 5% ignored."""
    generator = torch.Generator().manual_seed(0)
    batch_size, num_classes, height, width = SHAPE
    logits = torch.randn(SHAPE, generator=generator)
    target = torch.randint(0, num_classes, (batch_size, height, width), generator=generator)
    target[torch.rand(target.shape, generator=generator) < IGNORED_SHARE] = 255
    return logits.to(request.param).requires_grad_(True), target.to(request.param)


@pytest.mark.parametrize("spec", SPECS)
def test_loss_forward_backward(benchmark, batch: tuple[torch.Tensor, torch.Tensor], spec: str) -> None:
    logits, target = batch
    device = logits.device.type
    frequencies = torch.bincount(target[target != 255], minlength=SHAPE[1]).tolist()
    loss = augmentlab.build_loss(spec, num_classes=SHAPE[1], class_frequencies=frequencies).to(logits.device)

    def step() -> None:
        logits.grad = None
        loss(logits, target).backward()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.group = f"loss forward+backward {list(SHAPE)} {device}"
    benchmark.extra_info["device"] = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    benchmark.pedantic(step, rounds=ROUNDS[device], warmup_rounds=1)
    assert torch.isfinite(logits.grad).all()
