"""The result store: exact round trips, resume checks and merges, run states, and the files it refuses."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from augmentlab.errors import AugmentlabError
from augmentlab.results import store as store_module
from augmentlab.results.records import (
    AblationInfo,
    AnalysisSettings,
    ArmInfo,
    EpochRecord,
    RunResult,
)
from augmentlab.results.store import (
    APPLICATION_ID,
    JSON_COLUMNS,
    SCALAR_COLUMNS,
    SCHEMA_VERSION,
    ResultStore,
)

BASELINE = ArmInfo("none | ce", "none", "ce")
ELASTIC = ArmInfo("elastic | ce", "elastic", "ce")
GRID = ArmInfo("grid | ce0.8+focal0.2", "grid", "ce0.8+focal0.2")

RECIPE = {
    "epochs": 4,
    "image_size": 128,
    "batch_size": 8,
    "lr": 0.001,
    "encoder": "resnet18",
    "encoder_weights": "none",
    "weight_decay": 1e-06,
    "autocast": "none",
}


def make_info(**changes: object) -> AblationInfo:
    fields = {
        "name": "x", "class_names": ["background", "cat", "dog"], "arms": [BASELINE, ELASTIC], "seeds": [0, 1],
        "recipe": dict(RECIPE), "device": "cpu", "preset": "demo", "data": "demo (key 3f2a)",
    }
    return AblationInfo(**{**fields, **changes})  # built afresh: a fixed design's first look is every seed given


def make_result(arm: ArmInfo = BASELINE, seed: int = 0, **changes: object) -> RunResult:
    """A finished run with every field set, floats that only an exact round trip keeps, and a None IoU."""
    epochs = [
        EpochRecord(
            epoch=epoch,
            train_loss=0.1 + 0.2 * epoch,
            loss_terms={"ce": 0.7 / (epoch + 1), "focal": 1e-17},
            val_miou=0.3 + epoch / 3,
            val_pixel_accuracy=0.9,
            val_per_image_miou=0.25,
            seconds=12.5,
            images_per_second=81.0,
            data_ms_per_step=3.25,
            model_ms_per_step=40.125,
        )
        for epoch in range(2)
    ]
    result = RunResult(
        arm=arm.name,
        augmentation=arm.augmentation,
        loss=arm.loss,
        seed=seed,
        status="finished",
        best_epoch=1,
        miou=0.1 + 0.2,
        pixel_accuracy=0.9,
        per_image_miou=2 / 3,
        per_class_iou=[0.95, None, 1 / 3],
        image_intersections=[[10, 0, 5], [7, 1, 0]],
        image_unions=[[12, 0, 9], [8, 3, 0]],
        history=epochs,
        train_seconds=30.5,
        images_per_second=80.0,
        data_ms_per_step=3.5,
        model_ms_per_step=41.0,
        peak_memory_bytes=2**40 + 1,
        config={"recipe": dict(RECIPE), "arm": arm.name, "seed": seed, "flags": [True, None]},
        versions={"python": "3.11.7", "torch": "2.3.0", "augmentlab": "0.1.0"},
    )
    return dataclasses.replace(result, **changes)


def failed_result(arm: ArmInfo = BASELINE, seed: int = 0) -> RunResult:
    return RunResult(
        arm=arm.name,
        augmentation=arm.augmentation,
        loss=arm.loss,
        seed=seed,
        status="failed",
        error="NaN loss at epoch 2, step 5",
        history=make_result().history,
        train_seconds=20.0,
    )


def running_result(arm: ArmInfo = BASELINE, seed: int = 0) -> RunResult:
    return RunResult(arm=arm.name, augmentation=arm.augmentation, loss=arm.loss, seed=seed, status="running")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The store's timestamps come from this list, first to last; the list is what remains."""
    times = [f"2024-05-01T12:00:0{second}+00:00" for second in range(10)]
    monkeypatch.setattr(store_module, "_utc_now", lambda: times.pop(0))
    yield times


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "runs" / "x"


@pytest.fixture
def store(folder: Path) -> Iterator[ResultStore]:
    with ResultStore(folder) as opened:
        yield opened


def query(folder: Path, sql: str) -> list[tuple]:
    """What a user sees with the ``sqlite3`` command line."""
    connection = sqlite3.connect(folder / ResultStore.FILENAME)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_columns_cover_every_run_result_field() -> None:
    assert sorted(SCALAR_COLUMNS + JSON_COLUMNS) == sorted(field.name for field in dataclasses.fields(RunResult))


def test_new_store_creates_folder_and_marks_file(folder: Path) -> None:
    with ResultStore(folder):
        pass
    assert (folder / "results.sqlite").is_file()
    assert query(folder, "PRAGMA application_id") == [(APPLICATION_ID,)]
    assert query(folder, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(folder, "PRAGMA journal_mode") == [("wal",)]
    assert query(folder, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [("ablation",), ("runs",)]


@pytest.mark.parametrize("result", [make_result(), failed_result()], ids=["finished", "failed"])
def test_result_round_trips_exactly(store: ResultStore, result: RunResult) -> None:
    store.begin(make_info())
    store.record(result)
    assert store.results() == [result]


def test_scalars_are_plain_columns_and_lists_are_json(folder: Path, store: ResultStore, clock: list[str]) -> None:
    store.begin(make_info())
    store.mark_running(BASELINE.name, 0, BASELINE.augmentation, BASELINE.loss)
    store.record(make_result())
    store.record(failed_result(ELASTIC, 1))
    rows = query(folder, "SELECT arm, seed, status, miou, error, started_at, finished_at FROM runs ORDER BY arm")
    assert rows == [
        ("elastic | ce", 1, "failed", None, "NaN loss at epoch 2, step 5", None, "2024-05-01T12:00:03+00:00"),
        ("none | ce", 0, "finished", 0.30000000000000004, None, "2024-05-01T12:00:01+00:00", "2024-05-01T12:00:02+00:00"),
    ]
    extracted = query(
        folder,
        "SELECT json_extract(config, '$.recipe.lr'), json_extract(per_class_iou, '$[1]'), json_array_length(history)"
        " FROM runs WHERE arm = 'none | ce'",
    )
    assert extracted == [(0.001, None, 2)]


def test_non_finite_floats_are_stored_as_null(folder: Path, store: ResultStore) -> None:
    nan, inf = float("nan"), float("inf")
    diverged = make_result()
    diverged.miou = nan
    diverged.train_seconds = -inf
    diverged.per_class_iou = [0.5, nan]
    diverged.history[1].train_loss = nan
    diverged.history[1].loss_terms = {"ce": inf, "focal": 0.25}
    store.record(diverged)

    history_text, per_class_text, miou, train_seconds = query(
        folder, "SELECT history, per_class_iou, miou, train_seconds FROM runs"
    )[0]
    assert json.loads(per_class_text) == [0.5, None]
    assert json.loads(history_text)[1]["train_loss"] is None
    assert json.loads(history_text)[1]["loss_terms"] == {"ce": None, "focal": 0.25}
    assert (miou, train_seconds) == (None, None)

    expected = make_result(miou=None, train_seconds=None, per_class_iou=[0.5, None])
    expected.history[1].train_loss = None
    expected.history[1].loss_terms = {"ce": None, "focal": 0.25}
    assert store.results() == [expected]


def test_record_refuses_a_running_result(store: ResultStore) -> None:
    with pytest.raises(ValueError) as raised:
        store.record(running_result())
    assert str(raised.value) == (
        "record() stores a run that ended, status 'finished' or 'failed', not 'running'; use mark_running()"
    )
    assert store.results() == []


def test_begin_first_time_stores_info(folder: Path, store: ResultStore, clock: list[str]) -> None:
    info = make_info()
    assert store.begin(info) == info
    assert store.info() == info
    assert query(folder, "SELECT created_at, updated_at FROM ablation") == [
        ("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:00+00:00")
    ]


def test_begin_again_with_same_info_resumes(folder: Path, store: ResultStore, clock: list[str]) -> None:
    store.begin(make_info())
    assert store.begin(make_info()) == make_info()
    assert store.info() == make_info()
    assert query(folder, "SELECT created_at, updated_at FROM ablation") == [
        ("2024-05-01T12:00:00+00:00", "2024-05-01T12:00:01+00:00")
    ]


def test_begin_merges_arms_and_seeds_stored_first(store: ResultStore) -> None:
    store.begin(make_info())
    merged = store.begin(make_info(arms=[GRID, BASELINE], seeds=[2, 1], preset="standard", name="y"))
    expected = make_info(arms=[BASELINE, ELASTIC, GRID], seeds=[0, 1, 2])
    assert merged == expected
    assert store.info() == expected


def _end_runs(store: ResultStore, seeds: range, failed: tuple[tuple[ArmInfo, int], ...] = ()) -> None:
    for arm in (BASELINE, ELASTIC):
        for seed in seeds:
            store.record(make_result(arm, seed, status="failed", error="boom") if (arm, seed) in failed else make_result(arm, seed))


def test_seeds_added_after_a_complete_fixed_design_are_recorded_as_a_read(store: ResultStore) -> None:
    store.begin(make_info())
    _end_runs(store, range(2), failed=((ELASTIC, 1),))  # a failed run has ended too: the report could be read
    assert store.begin(make_info()).analysis.read_at_seeds == []  # the same seeds again: a resume, not a read
    assert store.begin(make_info(seeds=[0, 1, 2])).analysis.read_at_seeds == [2]
    assert store.begin(make_info(seeds=[0, 1, 2, 3])).analysis.read_at_seeds == [2]  # seed 2 never ended: no new read
    _end_runs(store, range(2, 4))
    assert store.begin(make_info(seeds=[0, 1, 2, 3, 4])).analysis.read_at_seeds == [2, 4]
    assert store.info().analysis.read_at_seeds == [2, 4]


def test_growing_an_unfinished_or_sequential_design_is_no_read(store: ResultStore) -> None:
    store.begin(make_info())
    store.record(make_result(BASELINE, 0))
    assert store.begin(make_info(seeds=[0, 1, 2])).analysis.read_at_seeds == []
    sequential = make_info(name="z", seeds=[0, 1], analysis=AnalysisSettings(first_seeds=2, max_seeds=4))
    other = ResultStore(store.folder.parent / "z")
    other.begin(sequential)
    _end_runs(other, range(2))
    grown = other.begin(make_info(name="z", seeds=[0, 1, 2], analysis=AnalysisSettings(first_seeds=2, max_seeds=5)))
    assert (grown.analysis.max_seeds, grown.analysis.read_at_seeds) == (5, [])  # its looks are planned and corrected
    other.close()


@pytest.mark.parametrize(("first_seeds", "reads"), [(2, []), (3, [2])])
def test_going_on_with_max_seeds_from_the_seeds_read_is_no_uncorrected_read(store: ResultStore, first_seeds: int, reads: list[int]) -> None:
    # The README's advice after a report with open verdicts: the same command with --max-seeds, whose first look is the seeds read.
    store.begin(make_info())
    _end_runs(store, range(2))
    sequential = AnalysisSettings(first_seeds=first_seeds, max_seeds=5)
    assert store.begin(make_info(seeds=[0, 1, 2, 3, 4], analysis=sequential)).analysis.read_at_seeds == reads


_RESUME_MISMATCHES = [
    (
        {"class_names": ["background", "cat"]},
        "classes (['background', 'cat', 'dog'] there, ['background', 'cat'] now)",
    ),
    ({"recipe": {**RECIPE, "lr": 0.0001}}, "recipe (lr 0.001 there, 0.0001 now)"),
    ({"recipe": {**RECIPE, "momentum": 0.9}}, "recipe (momentum absent there, 0.9 now)"),
    ({"device": "cuda"}, "device (cpu there, cuda now)"),
    ({"data": "coco.json (key 9c1d)"}, "data (demo (key 3f2a) there, coco.json (key 9c1d) now)"),
    ({"ignore_index": 0}, "ignore index (255 there, 0 now)"),
    ({"device": "cuda", "ignore_index": 0}, "device (cpu there, cuda now)"),
]


@pytest.mark.parametrize(("changes", "difference"), _RESUME_MISMATCHES)
def test_begin_refuses_a_different_ablation(folder: Path, store: ResultStore, changes: dict, difference: str) -> None:
    store.begin(make_info())
    with pytest.raises(AugmentlabError) as raised:
        store.begin(make_info(arms=[GRID], **changes))
    assert str(raised.value) == (
        f"{folder} holds an ablation with a different {difference};"
        " give another name to start a new folder, or the same settings to resume"
    )
    assert store.info() == make_info()


@pytest.mark.parametrize(("changes", "difference"), [({}, None), *_RESUME_MISMATCHES])
def test_a_read_only_store_checks_a_resume_as_begin_does_and_writes_nothing(folder: Path, changes: dict, difference: str | None) -> None:
    # What a dry run does: the same refusal as begin, and not a byte or a file more in the folder.
    with ResultStore(folder) as writer:
        writer.begin(make_info())
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    with ResultStore(folder, create=False, read_only=True) as reader:
        if difference is None:
            reader.check_resumes(make_info(arms=[GRID]))
        else:
            with pytest.raises(AugmentlabError) as raised:
                reader.check_resumes(make_info(arms=[GRID], **changes))
            assert str(raised.value) == (
                f"{folder} holds an ablation with a different {difference};"
                " give another name to start a new folder, or the same settings to resume"
            )
        assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before


def test_a_read_only_store_reads_beside_an_open_writer(folder: Path, store: ResultStore) -> None:
    store.begin(make_info())
    names = sorted(path.name for path in folder.iterdir())
    assert "results.sqlite-wal" in names  # the writer's WAL, which the reader must see through
    with ResultStore(folder, create=False, read_only=True) as reader:
        assert reader.info() == make_info()
        with pytest.raises(AugmentlabError, match=r"different device \(cpu there, cuda now\)"):
            reader.check_resumes(make_info(device="cuda"))
    assert sorted(path.name for path in folder.iterdir()) == names


def test_info_before_begin_is_an_error(folder: Path, store: ResultStore) -> None:
    with pytest.raises(AugmentlabError) as raised:
        store.info()
    assert str(raised.value) == (
        f"{folder} holds no ablation: `augmentlab ablate` stopped before it stored its plan; run it again"
    )


def test_finished_lists_only_finished_runs(store: ResultStore) -> None:
    store.begin(make_info())
    assert store.finished() == set()
    store.record(make_result(BASELINE, 0))
    store.record(make_result(BASELINE, 1))
    store.record(failed_result(ELASTIC, 0))
    store.mark_running(ELASTIC.name, 1, ELASTIC.augmentation, ELASTIC.loss)
    assert store.finished() == {("none | ce", 0), ("none | ce", 1)}


def test_record_replaces_the_running_row_and_keeps_its_start(folder: Path, store: ResultStore, clock: list[str]) -> None:
    store.begin(make_info())
    store.mark_running(BASELINE.name, 0, BASELINE.augmentation, BASELINE.loss)
    assert store.results() == [running_result()]
    store.record(make_result())
    assert store.results() == [make_result()]
    assert query(folder, "SELECT status, started_at, finished_at FROM runs") == [
        ("finished", "2024-05-01T12:00:01+00:00", "2024-05-01T12:00:02+00:00")
    ]


def test_record_without_mark_running_has_no_start(folder: Path, store: ResultStore, clock: list[str]) -> None:
    store.mark_running(BASELINE.name, 0, BASELINE.augmentation, BASELINE.loss)
    store.record(failed_result())
    store.record(make_result())
    assert query(folder, "SELECT status, started_at, finished_at FROM runs") == [
        ("finished", None, "2024-05-01T12:00:02+00:00")
    ]


def test_rerun_of_a_failed_run_keeps_nothing_of_it(folder: Path, store: ResultStore, clock: list[str]) -> None:
    store.begin(make_info())
    store.record(failed_result())
    assert store.results() == [failed_result()]
    store.mark_running(BASELINE.name, 0, BASELINE.augmentation, BASELINE.loss)
    assert store.results() == [running_result()]
    assert query(folder, "SELECT status, error, train_seconds, history, started_at, finished_at FROM runs") == [
        ("running", None, None, None, "2024-05-01T12:00:02+00:00", None)
    ]
    store.record(make_result())
    assert store.results() == [make_result()]
    assert store.finished() == {("none | ce", 0)}


def test_results_follow_arm_order_then_seed(store: ResultStore) -> None:
    store.begin(make_info(arms=[BASELINE, GRID, ELASTIC], seeds=[0, 1, 2]))
    store.record(make_result(ELASTIC, 0))
    store.record(make_result(GRID, 1))
    store.record(failed_result(BASELINE, 2))
    store.mark_running(GRID.name, 0, GRID.augmentation, GRID.loss)
    store.record(make_result(BASELINE, 0))
    assert store.results() == [
        make_result(BASELINE, 0),
        failed_result(BASELINE, 2),
        running_result(GRID, 0),
        make_result(GRID, 1),
        make_result(ELASTIC, 0),
    ]
    assert store.results("finished") == [make_result(BASELINE, 0), make_result(GRID, 1), make_result(ELASTIC, 0)]
    assert store.results("failed") == [failed_result(BASELINE, 2)]
    assert store.results("running") == [running_result(GRID, 0)]


def test_results_before_begin_order_by_arm_name(store: ResultStore) -> None:
    store.record(make_result(BASELINE, 1))
    store.record(make_result(GRID, 0))
    store.record(make_result(ELASTIC, 0))
    assert [result.key for result in store.results()] == [("elastic | ce", 0), ("grid | ce0.8+focal0.2", 0), ("none | ce", 1)]


def test_results_refuses_an_unknown_status(store: ResultStore) -> None:
    with pytest.raises(ValueError) as raised:
        store.results("done")  # type: ignore[arg-type]
    assert str(raised.value) == "status must be None or one of 'running', 'finished', 'failed', not 'done'"


def test_second_store_on_the_folder_sees_the_writes(folder: Path, store: ResultStore) -> None:
    store.begin(make_info())
    store.record(make_result())
    with ResultStore.open_existing(folder) as reader:
        assert reader.info() == make_info()
        assert reader.results() == [make_result()]
        store.mark_running(ELASTIC.name, 0, ELASTIC.augmentation, ELASTIC.loss)
        assert reader.results() == [make_result(), running_result(ELASTIC, 0)]
    with ResultStore(folder) as resumed:
        assert resumed.begin(make_info()) == make_info()
        assert resumed.finished() == {("none | ce", 0)}


def test_run_interrupted_before_record_shows_as_running(folder: Path) -> None:
    writer = ResultStore(folder)
    writer.begin(make_info())
    writer.record(make_result(BASELINE, 0))
    writer.mark_running(BASELINE.name, 1, BASELINE.augmentation, BASELINE.loss)
    # The driver dies here: no record(), no close().
    with ResultStore.open_existing(folder) as reader:
        assert reader.results() == [make_result(BASELINE, 0), running_result(BASELINE, 1)]
        assert reader.finished() == {("none | ce", 0)}
    writer.close()


def test_closed_store_cannot_be_used(folder: Path) -> None:
    with ResultStore(folder) as closed:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        closed.finished()


def test_open_existing_without_folder(tmp_path: Path) -> None:
    missing = tmp_path / "runs" / "nothing"
    with pytest.raises(AugmentlabError) as raised:
        ResultStore.open_existing(missing)
    assert str(raised.value) == (
        f"there is no folder {missing}; give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e"
    )
    assert not missing.exists()


def test_open_existing_of_a_file(tmp_path: Path) -> None:
    study = tmp_path / "study.toml"
    study.write_text("seeds = 2\n")
    with pytest.raises(AugmentlabError) as raised:
        ResultStore.open_existing(study)
    assert str(raised.value) == (
        f"{study} is a file, not an ablation folder; give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e"
    )
    assert study.read_text() == "seeds = 2\n"


def test_open_existing_without_results_file(tmp_path: Path) -> None:
    with pytest.raises(AugmentlabError) as raised:
        ResultStore.open_existing(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path} holds no ablation results (no results.sqlite);"
        " give the folder `augmentlab ablate` wrote, e.g. runs/ablation-1a2b3c4d5e"
    )
    assert list(tmp_path.iterdir()) == []


def test_store_refuses_a_file_that_is_not_sqlite(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "results.sqlite").write_text("arm,seed,miou\n" * 100)
    expected = (
        f"{folder / 'results.sqlite'} is not an augmentlab result store (SQLite: file is not a database);"
        " move it away or give another folder"
    )
    for open_store in (ResultStore.open_existing, ResultStore):
        with pytest.raises(AugmentlabError) as raised:
            open_store(folder)
        assert str(raised.value) == expected
    assert (folder / "results.sqlite").read_text() == "arm,seed,miou\n" * 100


@pytest.mark.parametrize("tables", [["CREATE TABLE runs (arm TEXT, miou REAL)"], []], ids=["other schema", "empty"])
def test_open_existing_refuses_a_sqlite_file_of_another_program(folder: Path, tables: list[str]) -> None:
    folder.mkdir(parents=True)
    foreign = sqlite3.connect(folder / "results.sqlite")
    for statement in tables:
        foreign.execute(statement)
    foreign.commit()
    foreign.close()
    with pytest.raises(AugmentlabError) as raised:
        ResultStore.open_existing(folder)
    assert str(raised.value) == (
        f"{folder / 'results.sqlite'} is not an augmentlab result store; move it away or give another folder"
    )
    assert query(folder, "SELECT name FROM sqlite_master") == [("runs",)] * len(tables)


def test_new_store_refuses_a_sqlite_file_of_another_program(folder: Path) -> None:
    folder.mkdir(parents=True)
    foreign = sqlite3.connect(folder / "results.sqlite")
    foreign.execute("CREATE TABLE runs (arm TEXT, miou REAL)")
    foreign.commit()
    foreign.close()
    with pytest.raises(AugmentlabError) as raised:
        ResultStore(folder)
    assert str(raised.value) == (
        f"{folder / 'results.sqlite'} is not an augmentlab result store; move it away or give another folder"
    )
    assert query(folder, "PRAGMA application_id") == [(0,)]
    assert query(folder, "PRAGMA journal_mode") == [("delete",)]


def test_store_refuses_another_schema_version(folder: Path) -> None:
    with ResultStore(folder) as store:
        store.begin(make_info())
    newer = sqlite3.connect(folder / "results.sqlite")
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    for open_store in (ResultStore.open_existing, ResultStore):
        with pytest.raises(AugmentlabError) as raised:
            open_store(folder)
        assert str(raised.value) == (
            f"{folder / 'results.sqlite'} holds results in store schema {SCHEMA_VERSION + 1}, and this augmentlab reads schema {SCHEMA_VERSION};"
            " use the augmentlab version that wrote it"
        )


# A store as augmentlab 0.1 wrote it (schema 1): the runs table without the traceback column.
SCHEMA_1_RUNS = """
CREATE TABLE runs (
    arm TEXT NOT NULL, augmentation TEXT NOT NULL, loss TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')), error TEXT, best_epoch INTEGER,
    miou REAL, pixel_accuracy REAL, per_image_miou REAL, train_seconds REAL, images_per_second REAL,
    data_ms_per_step REAL, model_ms_per_step REAL, peak_memory_bytes INTEGER, started_at TEXT, finished_at TEXT,
    per_class_iou TEXT, history TEXT, image_intersections TEXT, image_unions TEXT, config TEXT, versions TEXT,
    PRIMARY KEY (arm, seed)
)"""


def write_schema_1_store(folder: Path, result: RunResult) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(folder / "results.sqlite")
    connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    connection.execute("PRAGMA user_version = 1")
    connection.execute("CREATE TABLE ablation (id INTEGER PRIMARY KEY CHECK (id = 1), info TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)")
    connection.execute(SCHEMA_1_RUNS)
    connection.execute("INSERT INTO ablation VALUES (1, ?, '2026-11-26T09:00:00+00:00', '2026-11-26T09:00:00+00:00')", (json.dumps(make_info().to_dict()),))
    plain = result.to_dict()
    values = {column: plain[column] for column in SCALAR_COLUMNS if column not in ("traceback", "retryable")}
    values |= {column: json.dumps(plain[column]) for column in JSON_COLUMNS}
    connection.execute(f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})", list(values.values()))
    connection.commit()
    connection.close()


@pytest.mark.parametrize("open_store", [ResultStore.open_existing, ResultStore], ids=["report", "resume"])
def test_a_store_of_schema_1_is_migrated_when_opened_and_keeps_its_runs(folder: Path, open_store) -> None:
    result = make_result()
    write_schema_1_store(folder, result)
    with open_store(folder) as store:
        (read,) = store.results()
        assert read == dataclasses.replace(result, traceback=None)
        assert store.finished() == {(result.arm, result.seed)}
        store.record(make_result(seed=1, status="failed", error="boom", traceback="Traceback ...\nRuntimeError: boom"))
    assert query(folder, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert query(folder, "SELECT seed, traceback FROM runs ORDER BY seed") == [(0, None), (1, "Traceback ...\nRuntimeError: boom")]


def test_a_folder_from_before_a_recipe_field_resumes_with_its_default(folder: Path, store: ResultStore) -> None:
    store.begin(make_info())  # RECIPE has no arch, schedule or warmup_epochs: an 0.1 folder
    with_defaults = {**RECIPE, "arch": "deeplabv3plus", "schedule": "constant", "warmup_epochs": 0}
    store.begin(make_info(recipe=with_defaults))
    with pytest.raises(AugmentlabError) as raised:
        store.begin(make_info(recipe={**with_defaults, "arch": "unet"}))
    assert "a different recipe (arch deeplabv3plus there, unet now)" in str(raised.value)
