"""Splits larger than memory: where a split lives is decided before decoding, and a streamed split gives the cache's batches exactly."""

from __future__ import annotations

import pytest
import torch
from runner_fixtures import tiny_config, tiny_demo

import augmentlab
from augmentlab.data import stream
from augmentlab.data.cache import TensorCache
from augmentlab.data.stream import StreamingSource, decoded_bytes, placement
from augmentlab.runner import AblationListener
from augmentlab.runner.training_data import split_source

MiB = 2**20


@pytest.fixture(scope="module")
def demo_split():
    return augmentlab.load_dataset(None, size=(32, 48))


class Lines(AblationListener):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def notice(self, line):
        self.lines.append(line)


class Split:
    """What placement reads of a split: its count, training size and label range."""

    def __init__(self, count: int, num_classes: int = 5, ignore_index: int = 255, size: tuple[int, int] | None = (32, 48)) -> None:
        self.count, self.num_classes, self.ignore_index, self.size = count, num_classes, ignore_index, size

    def __len__(self) -> int:
        return self.count


def test_the_decoded_size_is_known_before_decoding(demo_split):
    assert decoded_bytes(demo_split) == len(demo_split) * 32 * 48 * 4  # uint8 RGB and a one-byte mask
    assert decoded_bytes(augmentlab.load_dataset(None)) is None  # each image's own size: known once decoded


@pytest.mark.parametrize(
    ("num_classes", "ignore_index", "mask_bytes"),
    [(11, 255, 1), (256, 255, 1), (257, 255, 2), (300, 65535, 4), (11, -1, 2), (70000, 255, 4)],
)
def test_the_size_counts_the_mask_dtype_the_cache_will_use(num_classes, ignore_index, mask_bytes):
    assert stream.mask_bytes(Split(10, num_classes, ignore_index)) == mask_bytes
    assert decoded_bytes(Split(10, num_classes, ignore_index)) == 10 * 32 * 48 * (3 + mask_bytes)


@pytest.mark.parametrize(
    "host_bytes, where, line",
    [
        (10 * MiB, "device", "train split: 160 images decode to 960 KiB: decoded once into host memory, the CPU's own"),
        (MiB // 2, "stream", "train split: 160 images decode to 960 KiB: over the 512 KiB host budget (host_memory), so streamed: "
                             "3 DataLoader workers decode each batch as it is needed"),
    ],
)
def test_a_split_over_the_host_budget_is_streamed(demo_split, monkeypatch, host_bytes, where, line):
    monkeypatch.setattr(stream.torch, "get_num_threads", lambda: 4)
    decided = placement(demo_split, "cpu", host_bytes=host_bytes)
    assert decided.where == where
    assert decided.describe("train", len(demo_split)) == line


@pytest.mark.parametrize(
    "available, copies, wheres, reasons",
    [
        # Both fit half of 4 MiB: 960 KiB and 480 KiB.
        (4 * MiB, 1, ["device", "device"], ["decoded once into host memory, the CPU's own"] * 2),
        # The train split takes 960 of the 1280 KiB; the val split's 480 do not fit the 320 left.
        (5 * MiB // 2, 1, ["device", "stream"], ["decoded once into host memory, the CPU's own",
         "over the 320 KiB left of the host budget (50% of the available memory) once the other split is in, so streamed: the training process decodes each batch as it is needed"]),
        # Two parallel workers each hold a copy: each has half of the 2 MiB budget.
        (4 * MiB, 2, ["device", "stream"], ["decoded once into host memory, the CPU's own",
         "over the 64 KiB left of the host budget (50% of the available memory, shared by 2 worker processes) once the other split is in, so streamed: "
         "the training process decodes each batch as it is needed"]),
        # A streamed train split leaves the whole budget to the val split.
        (3 * MiB // 2, 1, ["stream", "device"], [
         "over the 768 KiB host budget (50% of the available memory), so streamed: the training process decodes each batch as it is needed",
         "decoded once into host memory, the CPU's own"]),
    ],
)
def test_the_splits_and_the_parallel_workers_share_the_host_budget(monkeypatch, available, copies, wheres, reasons):
    monkeypatch.setattr(stream, "available_host_bytes", lambda: available)
    monkeypatch.setattr(stream.torch, "get_num_threads", lambda: 1)
    placed = stream.place_splits([Split(160), Split(80)], "cpu", host_copies=copies)  # 960 and 480 KiB
    assert [where.where for where in placed] == wheres and [where.reason for where in placed] == reasons


@pytest.mark.parametrize(("threads", "words"), [(2, "1 DataLoader worker decodes"), (1, "the training process decodes"), (32, "8 DataLoader workers decode")])
def test_the_stream_line_counts_the_workers_from_this_process_s_threads(demo_split, monkeypatch, threads, words):
    monkeypatch.setattr(stream.torch, "get_num_threads", lambda: threads)
    assert placement(demo_split, "cpu", host_bytes=0).reason.endswith(f"so streamed: {words} each batch as it is needed")


GiB = 2**30
NO_LIMIT_V1 = "9223372036854771712"


@pytest.mark.parametrize(
    ("membership", "files", "available"),
    [
        # No cgroup limit anywhere: the machine's MemAvailable.
        ("0::/\n", {}, 20 * GiB),
        ("0::/job\n", {"job/memory.max": "max\n", "job/memory.current": str(GiB)}, 20 * GiB),
        # v2: a SLURM job's 8 GiB with 3 GiB used, 1 GiB of it reclaimable page cache.
        ("0::/slurm/job_7/step_0\n", {"slurm/job_7/memory.max": str(8 * GiB), "slurm/job_7/memory.current": str(3 * GiB),
                                        "slurm/job_7/memory.stat": f"anon 100\ninactive_file {GiB}\n"}, 6 * GiB),
        # v2: the tightest of the process's own cgroup and its parents.
        ("0::/a/b\n", {"a/memory.max": str(4 * GiB), "a/memory.current": "0", "a/b/memory.max": str(10 * GiB), "a/b/memory.current": "0"}, 4 * GiB),
        # v2 inside a container: the path names the host's hierarchy; the container's files are at the root.
        ("0::/docker/abc\n", {"memory.max": str(2 * GiB), "memory.current": str(GiB // 2)}, 3 * GiB // 2),
        # v1: the memory controller's own hierarchy; the kernel's "unlimited" is no limit.
        ("4:memory:/user/job\n0::/\n", {"memory/user/job/memory.limit_in_bytes": str(5 * GiB), "memory/user/job/memory.usage_in_bytes": str(2 * GiB),
                                          "memory/user/job/memory.stat": f"inactive_file 1\ntotal_inactive_file {GiB}\n"}, 4 * GiB),
        ("4:cpu,memory:/x\n", {"memory/x/memory.limit_in_bytes": NO_LIMIT_V1, "memory/x/memory.usage_in_bytes": "5"}, 20 * GiB),
        # Over its limit already: nothing left, not a negative budget.
        ("0::/full\n", {"full/memory.max": str(GiB), "full/memory.current": str(2 * GiB)}, 0),
        # Unreadable values are no limit.
        ("0::/bad\n", {"bad/memory.max": "lots", "bad/memory.current": "1"}, 20 * GiB),
    ],
)
def test_the_available_memory_honours_the_cgroup_limit_a_container_or_a_job_sets(tmp_path, membership, files, available):
    proc, cgroups = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text(f"MemTotal: {64 * GiB // 1024} kB\nMemAvailable: {20 * GiB // 1024} kB\n")
    (proc / "self" / "cgroup").write_text(membership)
    for name, text in files.items():
        (cgroups / name).parent.mkdir(parents=True, exist_ok=True)
        (cgroups / name).write_text(text)
    assert stream.available_host_bytes(proc, cgroups) == available


def test_the_host_budget_is_half_of_what_is_available(monkeypatch):
    assert 0 < stream.available_host_bytes() < 2**50  # this machine's MemAvailable
    monkeypatch.setattr(stream, "available_host_bytes", lambda: 8 * 2**30)
    assert stream.host_budget() == 4 * 2**30
    monkeypatch.setattr(stream, "available_host_bytes", lambda: None)
    assert stream.host_budget() is None


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize(("epoch", "seed", "batch_size", "drop_last"), [(0, 0, 8, True), (3, 1, 7, False)])
def test_a_streamed_epoch_is_the_caches_epoch_batch_for_batch(demo_split, workers, epoch, seed, batch_size, drop_last):
    cache = TensorCache.build(demo_split, "cpu")
    streamed = StreamingSource(demo_split, "cpu", workers=workers)
    expected, got = cache.epoch_order(epoch, seed, batch_size, drop_last), streamed.epoch_order(epoch, seed, batch_size, drop_last)
    assert [batch.tolist() for batch in got] == [batch.tolist() for batch in expected]
    for indices in got:
        images, masks = streamed.batch(indices)
        cached_images, cached_masks = cache.batch(indices)
        assert images.dtype == torch.float32 and masks.dtype == torch.int64
        assert torch.equal(images, cached_images) and torch.equal(masks, cached_masks)


def test_validation_batches_come_in_order_and_a_batch_asked_out_of_turn_is_decoded_here(demo_split):
    cache = TensorCache.build(demo_split, "cpu")
    streamed = StreamingSource(demo_split, "cpu", workers=2)
    batches = streamed.in_order(50)
    assert [len(batch) for batch in batches] == [50, 50, 50, 10] and [b.tolist() for b in batches] == [b.tolist() for b in cache.in_order(50)]
    stray = torch.tensor([5, 1, 159])
    assert torch.equal(streamed.batch(stray)[1], cache.batch(stray)[1])  # not the batch the workers hold next
    for indices in batches:
        assert torch.equal(streamed.batch(indices)[0], cache.batch(indices)[0])


class Broken:
    """A dataset whose sample 3 has a mask of the wrong size."""

    cache_key, ignore_index, size = "broken", 255, (8, 8)

    def __len__(self):
        return 6

    def __getitem__(self, index):
        return torch.zeros(3, 8, 8, dtype=torch.uint8), torch.zeros((8, 8) if index != 3 else (4, 8), dtype=torch.int64)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_bad_sample_in_a_stream_is_its_own_one_line_error_not_a_workers_traceback(workers):
    streamed = StreamingSource(Broken(), "cpu", workers=workers)
    batches = streamed.in_order(6)
    with pytest.raises(ValueError) as error:
        streamed.batch(batches[0])
    assert str(error.value) == "sample 3: the mask must be an integer tensor of the image's size [8, 8], got torch.int64 [4, 8]"


def test_each_split_is_decoded_or_streamed_where_it_was_placed(demo_split):
    placed = stream.place_splits([demo_split, demo_split], "cpu", host_bytes=MiB)  # the train split fits; then only 64 KiB are left
    assert [where.where for where in placed] == ["device", "stream"]
    assert isinstance(split_source(demo_split, "cpu", placed[0]), TensorCache)
    assert isinstance(split_source(demo_split, "cpu", placed[1]), StreamingSource)


def test_a_streamed_ablation_says_so_and_trains_exactly_what_the_cached_one_does(tmp_path, monkeypatch):
    demo = tiny_demo(tmp_path / "demo")
    cached = augmentlab.run_ablation(tiny_config(demo, tmp_path / "cached"))
    monkeypatch.setattr(stream, "host_budget", lambda: 1024)
    monkeypatch.setattr(stream, "stream_workers", lambda threads=None: 0)  # workers give the same batches (above) and take a second to fork
    lines = Lines()
    streamed = augmentlab.run_ablation(tiny_config(demo, tmp_path / "streamed"), progress=lines)
    assert [line for line in lines.lines if " split: " in line] == [
        "train split: 16 images decode to 64 KiB: over the 1 KiB host budget (50% of the available memory), so streamed: "
        "the training process decodes each batch as it is needed",
        "val split: 8 images decode to 32 KiB: over the 1 KiB host budget (50% of the available memory), so streamed: "
        "the training process decodes each batch as it is needed",
    ]
    assert [arm.miou_mean for arm in streamed.arms] == [arm.miou_mean for arm in cached.arms]
    assert [arm.per_class_iou for arm in streamed.arms] == [arm.per_class_iou for arm in cached.arms]
