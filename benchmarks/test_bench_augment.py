"""Throughput of every built-in augmentation next to stock kornia and albumentations (pytest-benchmark).

Not part of the default test run (pytest collects ``tests/`` only). Run it with::

    pytest benchmarks/test_bench_augment.py --benchmark-only --benchmark-group-by=group

Each built-in is timed at 512×512, batch 16, on the CPU, and on CUDA when a GPU is visible.
Benchmarks of one transform on one device share a group, so pytest-benchmark shows ours,
kornia's and albumentations' side by side; ``extra_info["images_per_second"]`` holds the
figure that ``augmentlab bench augment`` prints. The calls are the bench's own
(:func:`augmentlab.diagnostics.bench_augment.implementation_call`), so both report the same work.
"""

from __future__ import annotations

import pytest
import torch

from augmentlab.diagnostics.bench_augment import (
    IMPLEMENTATIONS,
    BenchInputs,
    bench_cases,
    implementation_call,
    make_bench_inputs,
)

SIZE = 512
BATCH_SIZE = 16
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
# A CPU round takes up to seconds (stock kornia elastic, albumentations one image at a time).
ROUNDS = {"cpu": 3, "cuda": 30}
WARMUP_ROUNDS = {"cpu": 1, "cuda": 3}
CASES = bench_cases(None)


@pytest.fixture(scope="module", params=DEVICES)
def inputs(request: pytest.FixtureRequest) -> BenchInputs:
    return make_bench_inputs(BATCH_SIZE, SIZE, torch.device(request.param))


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_augmentation_throughput(benchmark, inputs: BenchInputs, case, implementation: str) -> None:
    device = inputs.device.type
    if implementation == "albumentations" and device != "cpu":
        pytest.skip("albumentations runs on the CPU only; its figures are in the cpu group")
    call = implementation_call(implementation, case.terms, inputs)
    if call is None:
        pytest.skip(f"{implementation} has no equivalent of {case.label}")
    benchmark.group = f"{case.label} {device} {SIZE}x{SIZE} batch {BATCH_SIZE}"
    benchmark.pedantic(call, rounds=ROUNDS[device], warmup_rounds=WARMUP_ROUNDS[device], iterations=1)
    benchmark.extra_info["images_per_second"] = BATCH_SIZE / benchmark.stats.stats.median
