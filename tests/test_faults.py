"""Fault injection, the fast cases: nothing trained is lost, and every fault is one line with exit 2.

A full disk is a real one (a small tmpfs, mounted when the tests run as root) and a held lock is
a real second SQLite connection. The SIGKILL-at-every-stage sweep is ``benchmarks/faults.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from cli_assertions import assert_one_line_error
from PIL import Image
from runner_fixtures import (
    ablate_args,
    invoke,
    plan_folder,
    rows,
    started_runs,
    tiny_demo,
)

import augmentlab
from augmentlab.errors import AugmentlabError, StoreError
from augmentlab.report.files import write_report_files
from augmentlab.results import store as store_module
from augmentlab.results.lock import FolderLock
from augmentlab.results.pending import PENDING_FOLDER, RESERVE_BYTES
from augmentlab.results.store import ResultStore
from augmentlab.runner.train import train_run

FAULT_PLUGIN = '''
    """Losses and augmentations that break their surroundings the way a real fault does."""

    import os
    import sqlite3

    import torch
    import torch.nn.functional as F
    from torch import nn

    import augmentlab
    from augmentlab.augment import PhotometricAugmentation

    HELD = []


    class FillDisk(nn.Module):
        """Cross-entropy that fills the disk at $FILL_DISK on its first step, as another job writing logs would."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()
            self.ignore_index = ignore_index

        def forward(self, logits, target):
            path = os.environ["FILL_DISK"]
            if not os.path.exists(path):
                with open(path, "wb") as file:
                    try:
                        while True:
                            file.write(bytes(1 << 16))
                            file.flush()
                    except OSError:
                        pass
            return F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index)


    class HoldLock(nn.Module):
        """Cross-entropy that takes the store's write lock on its first step and keeps it, as an open sqlite3 shell would."""

        def __init__(self, num_classes, ignore_index=255):
            super().__init__()
            self.ignore_index = ignore_index

        def forward(self, logits, target):
            if not HELD:
                connection = sqlite3.connect(os.environ["HOLD_LOCK"], isolation_level=None)
                connection.execute("BEGIN IMMEDIATE")
                HELD.append(connection)
            return F.cross_entropy(logits.float(), target, ignore_index=self.ignore_index)


    class FloatMask(PhotometricAugmentation):
        """Returns the masks as floats."""

        def forward(self, images, masks):
            return images, masks.float()


    class WideMask(PhotometricAugmentation):
        """Returns masks one column wider."""

        def forward(self, images, masks):
            return images, torch.cat([masks, masks[..., :1]], -1)


    class StrayLabels(PhotometricAugmentation):
        """Writes label 99 into every mask, a class no dataset here has."""

        def forward(self, images, masks):
            return images, torch.where(masks == 0, 99, masks)


    class Crash(PhotometricAugmentation):
        """Raises, as a plugin with a bug does."""

        def forward(self, images, masks):
            raise RuntimeError("index 7 is out of bounds")


    @augmentlab.hookimpl
    def augmentlab_register_losses():
        return [augmentlab.Loss("fill_disk", FillDisk), augmentlab.Loss("hold_lock", HoldLock)]


    @augmentlab.hookimpl
    def augmentlab_register_augmentations():
        return [
            augmentlab.Augmentation("float_mask", FloatMask),
            augmentlab.Augmentation("wide_mask", WideMask),
            augmentlab.Augmentation("stray_labels", StrayLabels),
            augmentlab.Augmentation("crash", Crash),
        ]
'''


@pytest.fixture
def fault_plugin(install_distribution):
    install_distribution("augmentlab-faults", {"fault_plugin": FAULT_PLUGIN}, {"faults": "fault_plugin"})
    yield
    held = getattr(sys.modules.get("fault_plugin"), "HELD", [])
    for connection in held:
        connection.close()
    held.clear()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


@pytest.fixture
def tmpfs(tmp_path):
    """A real 48 MiB filesystem of its own, that a test can fill or make read-only; skipped unless the tests run as root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(path: Path) -> Path:
    """Fill the filesystem of ``path`` to its last byte with one file; returns the file."""
    filler = path / "filler"
    with open(filler, "wb") as file:
        try:
            while True:
                file.write(bytes(1 << 16))
                file.flush()
        except OSError:
            pass
    return filler


# --- a finished run is never lost ---------------------------------------------------------------


def test_a_full_disk_at_record_time_keeps_the_run_and_the_next_start_folds_it_in(demo, tmpfs, fault_plugin, monkeypatch):
    filler = tmpfs / "filler"
    monkeypatch.setenv("FILL_DISK", str(filler))
    args = ablate_args(demo, tmpfs / "runs", aug=None, loss="fill_disk")
    result = invoke(*args)
    assert_one_line_error(result, "stopped: the disk that holds", "is full (SQLite: ",
                          "the 1 result(s) it could not write are kept in", "go into the store at the next start or `augmentlab report`")
    folder = plan_folder(result.stdout)
    (pending,) = (folder / PENDING_FOLDER).glob("*.json")
    kept = json.loads(pending.read_text())
    assert (kept["arm"], kept["seed"], kept["status"]) == ("none | fill_disk", 0, "finished")
    assert rows(folder, "arm, seed, status") == [("none | ce", 0, "finished"), ("none | fill_disk", 0, "running")]

    filler.unlink()
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert f"1 result(s) that could not be stored before are now in {folder / 'results.sqlite'}\n" in again.stdout
    assert f"resuming {folder}: 2 of 2 runs already finished, 0 to run\n" in again.stdout
    assert started_runs(again.stdout) == []  # nothing was trained again
    assert dict(rows(folder, "arm, miou"))["none | fill_disk"] == kept["miou"]
    assert not (folder / PENDING_FOLDER).exists()


def test_a_lock_held_at_record_time_keeps_the_run_and_the_next_start_folds_it_in(demo, tmp_path, fault_plugin, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 1.0)
    out = tmp_path / "runs"
    args = ablate_args(demo, out, aug=None, loss="hold_lock")
    dry = invoke(*args, "--dry-run")
    monkeypatch.setenv("HOLD_LOCK", str(plan_folder(dry.stdout) / "results.sqlite"))
    result = invoke(*args)
    assert_one_line_error(result, "is locked by another program (an sqlite3 shell, a backup or sync tool?): its write lock was not free within 1 s",
                          "the 1 result(s) it could not write are kept in")
    folder = plan_folder(result.stdout)
    assert len(list((folder / PENDING_FOLDER).glob("*.json"))) == 1

    for connection in sys.modules["fault_plugin"].HELD:
        connection.rollback()
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert started_runs(again.stdout) == []
    assert rows(folder, "arm, seed, status") == [("none | ce", 0, "finished"), ("none | hold_lock", 0, "finished")]


def test_a_pending_result_is_read_by_report_and_folded_when_the_folder_is_free(demo, tmp_path):
    out = tmp_path / "runs"
    result = invoke(*ablate_args(demo, out, aug=None, loss="dice"))
    folder = plan_folder(result.stdout)
    with closing(sqlite3.connect(folder / "results.sqlite")) as connection, connection:
        stored = connection.execute("SELECT miou FROM runs WHERE arm = 'none | dice'").fetchone()[0]
    with ResultStore(folder) as store:
        (dice,) = [run for run in store.results() if run.arm == "none | dice"]
        store.mark_running(dice.arm, dice.seed, dice.augmentation, dice.loss)  # as if its record had failed
    from augmentlab.results.pending import save_pending

    save_pending(folder, dice)
    with FolderLock(folder):  # an ablation holds the folder: report reads the pending result beside the store
        held = augmentlab.report.read_report(folder)
        assert held.arm("none | dice").miou_mean == stored
        assert rows(folder, "arm, status") == [("none | ce", "finished"), ("none | dice", "running")]
    free = augmentlab.report.read_report(folder)  # free: it is folded in
    assert free == held
    assert rows(folder, "arm, status") == [("none | ce", "finished"), ("none | dice", "finished")]
    assert not list((folder / PENDING_FOLDER).glob("*.json"))


# --- one process per folder ---------------------------------------------------------------------


def test_a_second_ablate_on_a_folder_in_use_exits_2_naming_the_holder(demo, tmp_path):
    args = ablate_args(demo, tmp_path / "runs", aug=None)
    folder = plan_folder(invoke(*args, "--dry-run").stdout)
    folder.mkdir(parents=True)
    with FolderLock(folder):
        result = invoke(*args)
    assert_one_line_error(result, f"{folder} is in use by augmentlab process {os.getpid()} (since ", "; wait for it to end, stop it, or give another --name to start a new folder")
    assert not (folder / "results.sqlite").exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(demo, tmp_path):
    args = ablate_args(demo, tmp_path / "runs", aug=None)
    folder = plan_folder(invoke(*args, "--dry-run").stdout)
    folder.mkdir(parents=True)
    (folder / ".lock").write_text(json.dumps({"pid": 2**22 + 12345, "started": "2026-12-01T00:00:00+00:00"}))
    result = invoke(*args)
    assert result.exit_code == 0, result.output


# --- workers die with their driver --------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, of in parents.items() if of == parent]
        found += children
        frontier += children
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize(
    ("stop", "when", "exit_code"),
    [
        (signal.SIGKILL, "training", -signal.SIGKILL),
        (signal.SIGTERM, "training", 128 + signal.SIGTERM),
        (signal.SIGKILL, "starting", -signal.SIGKILL),  # the workers are still importing: they learn of it once they can
    ],
)
def test_no_worker_outlives_its_driver(demo, tmp_path, stop, when, exit_code):
    args = [*ablate_args(demo, tmp_path / "runs"), "--epochs", "50", "--parallel", "2"]
    driver = subprocess.Popen([sys.executable, "-m", "augmentlab", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    if when == "training":
        while len([line for line in lines if line.endswith(": started\n")]) < 2:
            line = driver.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < 2 and time.monotonic() < deadline:  # the two workers, and multiprocessing's resource tracker
        workers = descendants(driver.pid)
        time.sleep(0.02)
    assert len(workers) >= 2
    driver.send_signal(stop)
    output = "".join(lines) + driver.communicate(timeout=60)[0]
    assert driver.returncode == exit_code, output
    if stop == signal.SIGTERM:
        assert "stopped by SIGTERM: 0 finished runs are saved in " in output and "; resume with: augmentlab ablate " in output
        assert "Traceback" not in output
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in workers if running(pid)] == []


# --- every value is checked before any work ------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--aug", "hflip(p=2)"), "error: --aug in spec 'hflip(p=2)' (at column 1): hflip(p=2): p must be a number in [0, 1], got 2"),
        (("--aug", "elastic(alpha=-1)"), "error: --aug in spec 'elastic(alpha=-1)' (at column 1): elastic(alpha=-1): alpha must be a number ≥ 0, got -1"),
        (("--loss", "focal(gamma=abc)"), "error: --loss in spec 'focal(gamma=abc)' (at column 1): focal(gamma=abc): gamma must be a number ≥ 0, got 'abc'"),
        (("--aug", "grid_dropout(unit_size_range=[2, 100])", "--image-size", "64"),  # a value the training size cannot hold
         "error: --aug in spec 'grid_dropout(unit_size_range=[2, 100])': unit_size_range [2, 100] must not exceed the image's shorter side 64, "
         "at the training size 64×64"),
        (("--loss", "ce(weight=[1, 2])"), "error: --loss in spec 'ce(weight=[1, 2])' (at column 1): ce(weight=[1, 2]): weight has 2 values but num_classes is 12; give one per class"),
    ],
)
def test_a_bad_value_fails_the_dry_run_as_it_would_fail_a_run(tmp_path, options, message):
    result = invoke("ablate", *options, "--device", "cpu", "--dry-run", "--out", str(tmp_path))
    assert_one_line_error(result)
    assert result.stderr == message + "\n"


def test_a_bad_value_in_a_config_files_arms_fails_the_dry_run(tmp_path):
    config = tmp_path / "study.toml"
    config.write_text("[[arms]]\naug = 'hflip'\n[[arms]]\naug = 'vflip'\nloss = 'focal(gamma=-1)'\n")
    result = invoke("ablate", "--config", str(config), "--device", "cpu", "--dry-run", "--out", str(tmp_path))
    assert_one_line_error(result)
    assert result.stderr == (
        f"error: {config}: arms[1].loss in spec 'focal(gamma=-1)' (at column 1): focal(gamma=-1): gamma must be a number ≥ 0, got -1\n"
    )


@pytest.fixture(scope="module")
def trained(demo, tmp_path_factory) -> Path:
    """A finished two-run ablation (``--epochs 1``), copied by the tests that run against it."""
    result = invoke(*ablate_args(demo, tmp_path_factory.mktemp("trained"), aug=None))
    assert result.exit_code == 0, result.output
    return plan_folder(result.stdout)


def contents(folder: Path) -> dict[Path, bytes | None]:
    return {path: path.read_bytes() if path.is_file() else None for path in sorted(folder.rglob("*"))}


MORE = "give the folder that holds the ablations (e.g. --out runs), or move that file away"


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry run", "real run"])
@pytest.mark.parametrize(
    ("setup", "options", "message", "plans"),
    [
        pytest.param("trained", ("--out", "{tmp}/runs", "--name", "{name}", "--epochs", "2"),
                     "{tmp}/runs/{name} holds an ablation with a different recipe (epochs 1 there, 2 now); give another --name to start a new folder, or the same settings to resume",
                     True, id="a changed recipe on an existing folder"),
        pytest.param("file", ("--out", "{tmp}/afile"), "--out {tmp}/afile is a file, not a folder; " + MORE, False, id="--out a file"),
        pytest.param("file", ("--out", "{tmp}/afile/runs"), "--out {tmp}/afile/runs: {tmp}/afile is a file, not a folder; " + MORE, False, id="--out below a file"),
        pytest.param("file", ("--out", "{tmp}", "--name", "afile"), "{tmp}/afile is a file, not an ablation folder; give another --name, or move that file away",
                     False, id="--name a file"),
        pytest.param("default", ("--out", "{tmp}"), "{tmp}/{name} is a file, not an ablation folder; give another --name, or move that file away",
                     True, id="the default folder a file"),
    ],
)
def test_the_dry_run_refuses_an_output_folder_as_the_run_would(demo, trained, tmp_path, setup, options, message, plans, dry_run):
    name = trained.name
    if setup == "trained":
        shutil.copytree(trained, tmp_path / "runs" / name)
    elif setup == "file":
        (tmp_path / "afile").write_text("not a folder\n")
    else:  # the folder the plan names, taken by a file
        (tmp_path / name).write_text("not a folder\n")
    before = contents(tmp_path)
    fill = {"tmp": tmp_path, "name": name}
    result = invoke(*ablate_args(demo, tmp_path, aug=None), *(option.format(**fill) for option in options), *(["--dry-run"] if dry_run else []))
    assert_one_line_error(result)
    assert result.stderr == "error: " + message.format(**fill) + "\n"
    assert (" runs → " in result.stdout) == plans  # a file in the way is refused before the data loads
    assert contents(tmp_path) == before  # nothing created, nothing changed


# --- store messages tell the truth ----------------------------------------------------------------


def test_a_results_sqlite_that_is_a_folder_is_one_line_for_ablate_and_report(demo, tmp_path):
    args = ablate_args(demo, tmp_path / "runs", aug=None)
    folder = plan_folder(invoke(*args, "--dry-run").stdout)
    (folder / "results.sqlite").mkdir(parents=True)
    message = f"{folder / 'results.sqlite'} is a folder, where the ablation's result store (a SQLite file) belongs"
    assert_one_line_error(invoke(*args), message)
    assert_one_line_error(invoke("report", str(folder)), message)


def test_a_locked_store_is_called_locked_never_invalid(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    folder = tmp_path / "ablation"
    with ResultStore(folder):
        pass
    with closing(sqlite3.connect(folder / "results.sqlite", isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreError) as error:
            ResultStore(folder).mark_running("none | ce", 0, "none", "ce")
    assert str(error.value).startswith(f"{folder / 'results.sqlite'} is locked by another program (an sqlite3 shell, a backup or sync tool?)")
    assert "not an augmentlab result store" not in str(error.value) and "move it away" not in str(error.value)


def test_a_read_only_store_is_called_read_only(tmpfs):
    folder = tmpfs / "ablation"
    with ResultStore(folder):
        pass
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    with pytest.raises(StoreError) as error:
        with ResultStore(folder) as store:
            store.mark_running("none | ce", 0, "none", "ce")
    # a WAL store on a read-only filesystem cannot even open its shared-memory file: SQLite says "unable to open"
    assert str(error.value).startswith(f"{folder / 'results.sqlite'} is read-only (SQLite: ")
    assert f"); make {folder} writable, or copy the folder to a writable place and give that folder: finished runs are kept" in str(error.value)
    assert "move it away" not in str(error.value)


def test_a_full_disk_is_called_full(tmpfs):
    folder = tmpfs / "ablation"
    with ResultStore(folder) as store:
        fill(tmpfs)
        with pytest.raises(StoreError) as error:
            for seed in range(10_000):  # until the WAL needs a page the disk does not have
                store.mark_running("none | ce", seed, "none", "ce")
    # in WAL mode a full disk surfaces as SQLITE_FULL or as an I/O error on the WAL: both are called what they are
    assert str(error.value).startswith(f"the disk that holds {folder / 'results.sqlite'} is full (SQLite: ")
    assert str(error.value).endswith("; free space there and run the same command again: finished runs are kept")


# --- report files ----------------------------------------------------------------------------------


def test_report_files_are_written_whole_or_not_at_all_on_a_full_disk(demo, tmpfs):
    result = invoke(*ablate_args(demo, tmpfs / "runs", aug=None))
    folder = plan_folder(result.stdout)
    before = {path.name: path.read_bytes() for path in folder.glob("report.*")}
    report = augmentlab.report.read_report(folder)
    fill(tmpfs)
    with pytest.raises(AugmentlabError) as error:
        write_report_files(report, folder)
    assert str(error.value).startswith(f"cannot write the report {folder / 'report.md'}: No space left on device (errno 28); free space on that disk")
    assert {path.name: path.read_bytes() for path in folder.glob("report.*")} == before  # no file left at 0 bytes
    assert list(folder.glob(".report*")) == []  # and no temporary file


def test_a_report_write_that_fails_midway_leaves_the_old_file(tmp_path, monkeypatch):
    from augmentlab.atomic import write_atomically

    path = tmp_path / "report.md"
    path.write_text("old report")

    def half_then_crash(file):
        file.write(b"half a new rep")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, half_then_crash)
    assert path.read_text() == "old report" and sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]


# --- data and plugins: one line, naming the culprit -------------------------------------------------


def image_folder(root: Path, images: dict[str, Image.Image]) -> tuple[Path, Path]:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for name, image in images.items():
        image.save(root / "images" / f"{name}.png")
        Image.new("L", image.size, 1).save(root / "masks" / f"{name}.png")
    return root / "images", root / "masks"


def test_an_image_too_large_to_decode_here_is_one_line(tmp_path, monkeypatch):
    import augmentlab.data.images as images_module

    images, masks = image_folder(tmp_path, {"big": Image.new("RGB", (300, 200)), "small": Image.new("RGB", (30, 20))})
    monkeypatch.setattr(images_module, "decodable_pixels", lambda: 50_000)
    result = invoke("data", "stats", "--data", str(images), "--masks", str(masks), "--val", str(images), "--val-masks", str(masks))
    assert_one_line_error(result)
    # the masks are read first, for the class statistics; the image would be refused the same way
    assert result.stderr.startswith(f"error: mask {masks / 'big.png'} is 300×200, 60,000 pixels, more than the 50,000 one image may have here (25% of")


def test_a_folder_without_write_access_fails_the_dry_run_as_it_would_fail_the_run(demo, tmp_path, monkeypatch):
    # Root ignores the permission bits, so the refusal is simulated where the check asks for it.
    import augmentlab.runner.ablation as ablation_module

    out = tmp_path / "runs"
    out.mkdir()
    readable = os.access
    monkeypatch.setattr(ablation_module.os, "access", lambda path, mode, **kwargs: readable(path, mode, **kwargs) and not (Path(path) == out and mode & os.W_OK))
    result = invoke(*ablate_args(demo, out, aug=None), "--dry-run")
    assert_one_line_error(result, f"cannot write the folder {out}: Permission denied (errno 13); make the folder writable, or give another folder")


def test_a_lock_file_that_cannot_be_opened_is_one_line(tmp_path, monkeypatch):
    from augmentlab.results.lock import FolderLock

    monkeypatch.setattr("builtins.open", lambda *args, **kwargs: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    with pytest.raises(AugmentlabError) as error:
        FolderLock(tmp_path).acquire()
    assert str(error.value) == (
        f"cannot write the ablation's lock file {tmp_path / '.lock'}: Permission denied (errno 13); make the folder writable, or give another folder"
    )


def test_an_image_without_read_access_says_so_not_that_it_is_corrupt(tmp_path, monkeypatch):
    # chmod 000 does not stop root, who runs these tests in CI: the refusal is what the kernel would raise.
    from PIL import Image as PILImage

    from augmentlab.data import read_image

    path = tmp_path / "locked.jpg"
    PILImage.new("RGB", (8, 8)).save(path)
    monkeypatch.setattr(PILImage, "open", lambda *args, **kwargs: (_ for _ in ()).throw(PermissionError(13, "Permission denied", str(path))))
    with pytest.raises(AugmentlabError) as error:
        read_image(path)
    assert str(error.value) == f"cannot read image {path}: permission denied; give the user that runs augmentlab read access (chmod a+r)"


def test_a_truncated_jpeg_fails_data_stats_as_it_would_fail_ablate(tmp_path):
    images, masks = image_folder(tmp_path, {"fine": Image.new("RGB", (64, 48), (200, 100, 50))})
    Image.new("RGB", (64, 48), (10, 20, 30)).save(images / "cut.jpg", quality=95)
    (images / "cut.jpg").write_bytes((images / "cut.jpg").read_bytes()[:300])
    Image.new("L", (64, 48), 1).save(masks / "cut.png")
    result = invoke("data", "stats", "--data", str(images), "--masks", str(masks), "--val", str(images), "--val-masks", str(masks))
    assert_one_line_error(result, f"cannot read image {images / 'cut.jpg'}: Truncated File Read; the file is corrupt, replace or remove it")


@pytest.mark.parametrize(
    ("augmentation", "error"),
    [
        ("float_mask", "augmentation 'float_mask' (plugin 'faults') returned masks of torch.float32; masks stay int64 class indices "
                       "(never interpolate labels)"),
        ("hflip,wide_mask", "augmentation 'wide_mask' (plugin 'faults') in 'hflip,wide_mask' returned images (4, 3, 32, 32) and masks "
                            "(4, 32, 33) for a batch of (4, 3, 32, 32) and (4, 32, 32); keep the batch's shapes"),
        # the transform that broke the contract is named, not the next one that trips over its output
        ("float_mask,hflip", "augmentation 'float_mask' (plugin 'faults') in 'float_mask,hflip' returned masks of torch.float32; "
                             "masks stay int64 class indices (never interpolate labels)"),
        ("stray_labels", "augmentation 'stray_labels' returned mask labels outside the classes 0..11 that are not ignore_index 255 in epoch 1 "
                         "(they were kept out of the loss); its plugin transforms: stray_labels (plugin 'faults')"),
    ],
)
def test_a_plugin_augmentations_broken_output_names_the_augmentation_not_the_loss(demo, fault_plugin, augmentation, error):
    from runner_fixtures import TINY_RECIPE

    from augmentlab.data import load_splits
    from augmentlab.runner.train import RunSpec
    from augmentlab.runner.training_data import training_data

    train, val = load_splits(demo.train_json, val=demo.val_json, images=demo.images, size=(32, 32))
    result = train_run(RunSpec(augmentation, "ce", 0, TINY_RECIPE, "cpu"), training_data(train, val, "cpu"))
    assert (result.status, result.error, result.retryable) == ("failed", error, False)


@pytest.mark.parametrize(
    ("augmentation", "error"),
    [
        ("hflip,float_mask", "augmentation 'float_mask' (plugin 'faults') in 'hflip,float_mask' returned masks of torch.float32; "
                             "masks stay int64 class indices (never interpolate labels)"),
        ("crash", "augmentation 'crash' raised RuntimeError: index 7 is out of bounds; its plugin transforms: crash (plugin 'faults')"),
    ],
)
def test_preview_names_a_broken_plugin_augmentation_in_one_line(demo, fault_plugin, tmp_path, augmentation, error):
    result = invoke("preview", "--aug", augmentation, "--out", str(tmp_path / "p.png"), "--data", str(demo.train_json),
                    "--images", str(demo.images), "--n", "2", "--size", "64")
    assert_one_line_error(result, error)
    assert result.stderr == f"error: {error}\n" and not (tmp_path / "p.png").exists()


def test_a_dry_run_fails_on_a_plugin_that_breaks_the_mask_contract_as_every_run_would(demo, fault_plugin, tmp_path):
    result = invoke(*ablate_args(demo, tmp_path / "runs", aug="float_mask"), "--dry-run")
    error = "augmentation 'float_mask' (plugin 'faults') returned masks of torch.float32; masks stay int64 class indices (never interpolate labels)"
    assert_one_line_error(result, error)
    assert result.stderr == f"error: {error}\n" and not (tmp_path / "runs").exists()


def test_reserve_room_is_freed_when_the_runs_end(demo, tmp_path):
    folder = plan_folder(invoke(*ablate_args(demo, tmp_path / "runs", aug=None)).stdout)
    assert not (folder / PENDING_FOLDER).exists()
    assert RESERVE_BYTES >= 4 * 2**20
