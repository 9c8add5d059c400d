"""The MLflow sink against a real local MLflow store, read back with ``mlflow.search_runs``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from runner_fixtures import ablate_args, invoke, tiny_config, tiny_demo

import augmentlab
from augmentlab.results.store import ResultStore
from augmentlab.tracking.base import AblationStart

mlflow = pytest.importorskip("mlflow")
from mlflow.entities import ViewType  # noqa: E402

from augmentlab.tracking.mlflow import MlflowSink, artifact_location, metric_name  # noqa: E402

ROLE, ARM, SEED = "tags.`augmentlab.role`", "augmentlab.arm", "augmentlab.seed"


@pytest.fixture(autouse=True)
def _no_tracking_server(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


def runs_of(uri: str, experiment: str = "augmentlab", view=ViewType.ACTIVE_ONLY, role: str | None = None) -> list:
    found = mlflow.MlflowClient(uri).get_experiment_by_name(experiment)
    if found is None:
        return []
    where = f"{ROLE} = '{role}'" if role else ""
    mlflow.set_tracking_uri(uri)  # what mlflow.search_runs reads
    return mlflow.search_runs(experiment_ids=[found.experiment_id], filter_string=where, run_view_type=view, output_format="list")


def local_uri(out: Path) -> str:
    return f"sqlite:///{(out / 'mlflow.db').resolve()}"


@pytest.fixture(scope="module")
def tracked(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        report = augmentlab.run_ablation(tiny_config(demo, out, epochs=2, track=["mlflow"]))
    with ResultStore.open_existing(out / report.name) as store:
        results = {result.key: result for result in store.results()}
    return out, report, results


def test_one_parent_run_per_ablation_and_one_child_per_arm_and_seed(tracked):
    out, report, _ = tracked
    (parent,) = runs_of(local_uri(out), role="ablation")
    children = runs_of(local_uri(out), role="run")
    assert parent.info.run_name == report.name and parent.info.status == "FINISHED"
    assert sorted((run.data.tags[ARM], run.data.tags[SEED]) for run in children) == [("hflip | ce", "0"), ("none | ce", "0")]
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {parent.info.run_id}
    assert {run.info.status for run in children} == {"FINISHED"}
    assert parent.data.params["recipe.epochs"] == "2" and parent.data.params["arms"] == "2" and parent.data.params["design"] == "factorial"
    assert parent.data.tags["augmentlab.runs"] == "2 finished, 0 failed, 0 missing of 2"


def test_a_child_has_the_arm_specs_seed_and_recipe_as_params(tracked):
    out, _, _ = tracked
    child = next(run for run in runs_of(local_uri(out), role="run") if run.data.tags[ARM] == "hflip | ce")
    params = child.data.params
    assert {key: params[key] for key in ("arm", "aug", "loss", "seed")} == {"arm": "hflip | ce", "aug": "hflip", "loss": "ce", "seed": "0"}
    assert params["recipe.image_size"] == "32" and params["recipe.encoder"] == "resnet18" and params["recipe.arch"] == "deeplabv3plus"


def test_per_epoch_metrics_and_final_metrics_are_the_stored_values(tracked):
    out, report, results = tracked
    client = mlflow.MlflowClient(local_uri(out))
    for child in runs_of(local_uri(out), role="run"):
        stored = results[(child.data.tags[ARM], int(child.data.tags[SEED]))]
        history = {key: [(m.step, m.value) for m in client.get_metric_history(child.info.run_id, key)] for key in ("val_miou", "train_loss", "loss/ce")}
        assert history["val_miou"] == [(epoch.epoch + 1, epoch.val_miou) for epoch in stored.history] and len(stored.history) == 2
        assert history["train_loss"] == [(epoch.epoch + 1, epoch.train_loss) for epoch in stored.history]
        assert history["loss/ce"] == [(epoch.epoch + 1, epoch.loss_terms["ce"]) for epoch in stored.history]
        metrics = child.data.metrics
        assert metrics["miou"] == stored.miou and metrics["pixel_accuracy"] == stored.pixel_accuracy
        assert {key: value for key, value in metrics.items() if key.startswith("per_class_iou/")} == {
            f"per_class_iou/{name}": iou for name, iou in zip(report.class_names, stored.per_class_iou) if iou is not None
        }


def test_each_child_carries_its_arms_verdict_and_delta_and_the_parent_the_report_files(tracked):
    out, report, _ = tracked
    hflip = report.arm("hflip | ce")
    children = {run.data.tags[ARM]: run for run in runs_of(local_uri(out), role="run")}
    assert children["none | ce"].data.tags["augmentlab.verdict"] == "baseline" and "augmentlab.delta" not in children["none | ce"].data.tags
    tags = children["hflip | ce"].data.tags
    assert tags["augmentlab.verdict"] == hflip.verdict
    assert tags["augmentlab.delta"] == f"{hflip.delta.estimate:+.4f}"
    assert tags["augmentlab.delta_interval"] == f"[{hflip.delta.low:+.4f}, {hflip.delta.high:+.4f}] at {hflip.delta.confidence:.1%}"
    assert tags["augmentlab.delta_method"] == "paired bootstrap over 8 val images (1 seed)"
    (parent,) = runs_of(local_uri(out), role="ablation")
    artifacts = sorted(item.path for item in mlflow.MlflowClient(local_uri(out)).list_artifacts(parent.info.run_id))
    assert artifacts == ["report.csv", "report.html", "report.json", "report.md", "report.png"]
    assert (out / "mlartifacts").is_dir()  # beside the ablation folders, with the store


def test_running_it_again_adds_nothing_and_more_seeds_add_only_their_runs(tracked, demo):
    out, report, _ = tracked
    config = tiny_config(demo, out, epochs=2, track=["mlflow"])
    augmentlab.run_ablation(config)
    assert len(runs_of(local_uri(out), role="ablation")) == 1 and len(runs_of(local_uri(out), role="run")) == 2
    augmentlab.run_ablation(config.with_overrides(seeds=2))
    children = runs_of(local_uri(out), role="run")
    assert sorted((run.data.tags[ARM], run.data.tags[SEED]) for run in children) == [
        ("hflip | ce", "0"), ("hflip | ce", "1"), ("none | ce", "0"), ("none | ce", "1"),
    ]
    assert len(runs_of(local_uri(out), role="ablation")) == 1


def test_an_ablation_tracked_late_gets_every_stored_run(demo, tmp_path):
    config = tiny_config(demo, tmp_path)
    augmentlab.run_ablation(config)
    assert runs_of(local_uri(tmp_path)) == []
    augmentlab.run_ablation(config.with_overrides(track=["mlflow"]))  # nothing trains: the store's runs are added
    assert sorted(run.data.tags[ARM] for run in runs_of(local_uri(tmp_path), role="run")) == ["hflip | ce", "none | ce"]


def test_uri_and_experiment_come_from_the_command_line(demo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path / "..")
    uri = f"sqlite:///{tmp_path / 'team.db'}"
    result = invoke(*ablate_args(demo, tmp_path / "runs", loss="dice"), "--track", "mlflow", "--track-opt", f"mlflow.uri={uri}",
                    "--track-opt", "mlflow.experiment=waste")
    assert result.exit_code == 0, result.output
    assert len(runs_of(uri, "waste", role="run")) == 4 and runs_of(uri, "augmentlab") == []
    (parent,) = runs_of(uri, "waste", role="ablation")
    assert f"tracking with mlflow: experiment 'waste' at {uri}, parent run {parent.info.run_id} (to look: mlflow ui --backend-store-uri {uri})\n" in result.output
    assert not (tmp_path / "runs" / "mlflow.db").exists()
    assert (tmp_path / "mlartifacts").is_dir() and not (tmp_path / ".." / "mlruns").exists()  # beside the store, not wherever it ran


@pytest.mark.parametrize(
    "uri, location",
    [("sqlite:////data/team/mlflow.db", "file:///data/team/mlartifacts"), ("sqlite:///:memory:", None),
     ("http://mlflow.internal:5000", None), ("databricks", None)],
)
def test_a_new_experiment_keeps_its_artifacts_beside_a_local_store(uri, location):
    assert artifact_location(uri) == location


def test_the_tracking_uri_comes_from_mlflow_tracking_uri(demo, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    augmentlab.run_ablation(tiny_config(demo, tmp_path / "runs", track=["mlflow"]))
    assert len(runs_of(uri, role="run")) == 2 and not (tmp_path / "runs" / "mlflow.db").exists()


def test_a_failed_child_is_replaced_when_its_run_finishes_and_a_finished_one_is_never_logged_twice(tracked, tmp_path):
    out, report, results = tracked
    finished = results[("hflip | ce", 0)]
    failed = dataclasses.replace(finished, status="failed", error="NaN loss at epoch 1, step 2", miou=None, per_class_iou=[], history=finished.history[:1])
    with ResultStore.open_existing(out / report.name) as store:
        info = store.info()
    uri = f"sqlite:///{tmp_path / 'retry.db'}"
    start = AblationStart(info, out / report.name, "retry@2026-12-03T00:00:00+00:00")

    def invocation(*results) -> None:
        sink = MlflowSink(uri=uri)
        sink.ablation_started(start)
        for result in results:
            sink.run_ended(result)
        sink.close()

    invocation(failed)
    (child,) = runs_of(uri, role="run")
    assert child.info.status == "FAILED" and child.data.tags["augmentlab.error"] == "NaN loss at epoch 1, step 2" and "miou" not in child.data.metrics
    invocation(failed)  # failed again: the first failure stays, alone
    assert [run.info.run_id for run in runs_of(uri, role="run")] == [child.info.run_id]
    invocation(finished, finished)
    (replaced,) = runs_of(uri, role="run")
    assert replaced.info.status == "FINISHED" and replaced.data.metrics["miou"] == finished.miou
    assert [run.info.run_id for run in runs_of(uri, view=ViewType.DELETED_ONLY)] == [child.info.run_id]  # in MLflow's trash
    (parent,) = runs_of(uri, role="ablation")
    assert parent.info.status == "KILLED"  # no report was built in these invocations


@pytest.mark.parametrize(
    "text, name",
    [("val_miou", "val_miou"), ("loss/focal(gamma=3)", "loss/focal_gamma_3_"), ("iou/Plastic bag & wrapper", "iou/Plastic bag _ wrapper"),
     ("iou/a//b/", "iou/a/b"), ("iou/Glass:bottle", "iou/Glass_bottle"), ("iou/café", "iou/café")],
)
def test_metric_names_keep_what_mlflow_accepts(text, name):
    assert metric_name(text) == name
