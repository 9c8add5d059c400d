"""Result sinks: ``--track`` checked before any work, what a sink hears and in which order, a sink that raises, and the sink options."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
from runner_fixtures import ablate_args, invoke, rows, tiny_config, tiny_demo

import augmentlab
from augmentlab.errors import FieldError
from augmentlab.runner import AblationListener
from augmentlab.tracking import SINK_LOG, build_sinks, sink_options

needs_extras = pytest.mark.skipif(
    importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("tensorboard") is None,
    reason="the mlflow and tensorboard extras are not installed: pip install 'augmentlab[mlflow,tensorboard]'",
)

RECORDING_PLUGIN = '''
    """A sink that records what it hears, and one that raises when told to."""

    import augmentlab
    from augmentlab.tracking import Sink

    EVENTS = []


    class Recording(Sink):
        def __init__(self, label, fail_in):
            self.label, self.fail_in = label, fail_in

        def _hear(self, event, *details):
            EVENTS.append((self.label, event, *details))
            if event == self.fail_in:
                raise RuntimeError(f"{self.label} cannot take {event}\\nsecond line")

        def ablation_started(self, start):
            self._hear("started", tuple(sorted(run.key for run in start.stored)), start.ablation_id.startswith(start.folder.name + "@"))

        def run_ended(self, result):
            self._hear("run", result.key, result.status, len(result.history))

        def report_built(self, report, files):
            self._hear("report", sorted(path.name for path in files))

        def close(self):
            self._hear("close")


    def recording(label: str = "rec", fail_in: str = "", epochs: int = 1, rate: float = 0.5, verbose: bool = False):
        """Record every event."""
        if label == "refuse":
            raise ValueError("label refuse is refused")
        return Recording(label, fail_in)


    def broken(fail_in: str = "run"):
        """Raise in one event."""
        return Recording("broken", fail_in)


    def not_a_sink():
        return object()


    @augmentlab.hookimpl
    def augmentlab_result_sinks():
        return [augmentlab.ResultSink("recording", recording), augmentlab.ResultSink("broken", broken),
                augmentlab.ResultSink("not_a_sink", not_a_sink)]
'''


@pytest.fixture
def recording_plugin(install_distribution):
    install_distribution("augmentlab-recording", {"recording_sink": RECORDING_PLUGIN}, {"recording": "recording_sink"})
    augmentlab.load_plugins()
    module = sys.modules["recording_sink"]
    module.EVENTS.clear()
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("tiny-demo"))


class Warnings(AblationListener):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, line):
        self.lines.append(line)


# --- checks before any work ------------------------------------------------------------------


@pytest.mark.parametrize(
    "track, message",
    [
        ({"mlflw": {}}, "track names no installed result sink 'mlflw' — did you mean 'mlflow'? installed sinks: "),
        ({"mlflow": {"experiments": "x"}}, "track sink 'mlflow' has no option 'experiments' — did you mean 'experiment'? its options: uri, experiment"),
        ({"tensorboard": {"x": 1}}, "track sink 'tensorboard' has no option 'x'; its options: logdir"),
        pytest.param({"mlflow": {"experiment": " "}}, "track sink 'mlflow' (augmentlab.tracking) refused its options: experiment must be a name, got an empty one",
                     marks=needs_extras),
        (3, "track must be a table of sink tables, such as [track.mlflow] with its options, got 3"),
        ({"mlflow": "waste"}, "track must be a table of sink tables, such as [track.mlflow] with its options, got {'mlflow': 'waste'}"),
    ],
)
def test_a_bad_track_setting_is_one_line_naming_it(track, message):
    with pytest.raises(FieldError) as error:
        augmentlab.AblationConfig(track=track).validate()
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(("module", "extra"), [("mlflow", "mlflow"), ("tensorboard", "tensorboard")])
def test_a_sink_whose_package_is_missing_says_which_pip_command_installs_it(monkeypatch, module, extra):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == module else real(name, *args))
    with pytest.raises(FieldError) as error:
        augmentlab.AblationConfig(track=[module]).validate()
    assert str(error.value) == f"track sink '{module}': needs the {module} package, which is not installed; pip install 'augmentlab[{extra}]'"


@needs_extras
def test_sinks_are_named_by_a_list_or_a_table():
    assert augmentlab.AblationConfig(track=["mlflow", "tensorboard"]).track == {"mlflow": {}, "tensorboard": {}}
    assert augmentlab.AblationConfig(track="mlflow").track == {"mlflow": {}}
    assert [name for name, _ in build_sinks({"tensorboard": {"logdir": "tb"}, "mlflow": {}})] == ["tensorboard", "mlflow"]
    assert build_sinks(None) == []


@pytest.mark.parametrize(
    "given, expected",
    [
        ({}, {}),
        ({"epochs": "3", "rate": "0.25", "verbose": "yes", "label": "7"}, {"epochs": 3, "rate": 0.25, "verbose": True, "label": "7"}),
        ({"verbose": "off"}, {"verbose": False}),
        ({"epochs": 4, "rate": 1, "verbose": True}, {"epochs": 4, "rate": 1, "verbose": True}),  # from a TOML table: as typed
    ],
)
def test_option_text_from_the_command_line_takes_the_type_of_its_default(recording_plugin, given, expected):
    assert sink_options(augmentlab.available_sinks()["recording"], given) == expected


@pytest.mark.parametrize(
    "given, message",
    [
        ({"epochs": "three"}, "track option recording.epochs must be a whole number, got 'three'"),
        ({"rate": "fast"}, "track option recording.rate must be a number, got 'fast'"),
        ({"verbose": "maybe"}, "track option recording.verbose must be true or false, got 'maybe'"),
        ({"verbose": 1}, "track option recording.verbose must be true or false, got 1"),
        ({"label": "refuse"}, "track sink 'recording' (recording) refused its options: label refuse is refused"),
    ],
)
def test_a_bad_option_value_is_one_line(recording_plugin, given, message):
    with pytest.raises(FieldError) as error:
        build_sinks({"recording": given})
    assert str(error.value) == message


def test_a_factory_that_returns_no_sink_is_named(recording_plugin):
    with pytest.raises(FieldError) as error:
        build_sinks({"not_a_sink": {}})
    assert str(error.value) == "track sink 'not_a_sink' (recording) returned object, not an augmentlab.tracking.Sink; its factory must return one"


@pytest.mark.parametrize(
    "options, message",
    [
        (["--track", "mlfow"], "error: --track names no installed result sink 'mlfow' — did you mean 'mlflow'?"),
        (["--track-opt", "mlflow.experiment=waste"], "error: --track-opt 'mlflow.experiment=waste' sets an option of sink 'mlflow', which is not tracked; add --track mlflow"),
        (["--track", "mlflow", "--track-opt", "mlflow.experiment"], "error: --track-opt 'mlflow.experiment' must read SINK.KEY=VALUE, e.g. mlflow.experiment=waste"),
        (["--track", "mlflow", "--track-opt", "experiment=waste"], "error: --track-opt 'experiment=waste' must read SINK.KEY=VALUE, e.g. mlflow.experiment=waste"),
        (["--track", "mlflow", "--track-opt", "mlflow.expriment=waste"], "error: --track sink 'mlflow' has no option 'expriment' — did you mean 'experiment'?"),
    ],
)
def test_bad_track_options_stop_the_command_line_before_any_work(demo, tmp_path, options, message):
    result = invoke(*ablate_args(demo, tmp_path / "runs"), *options)
    assert result.exit_code == 2
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert not (tmp_path / "runs").exists()


def test_a_config_file_tracks_with_its_tables_and_the_command_line_replaces_its_sinks(tmp_path):
    from augmentlab.cli.ablate import tracked_sinks

    path = tmp_path / "ablation.toml"
    path.write_text('aug = ["hflip"]\n\n[track.mlflow]\nexperiment = "waste"\n\n[track.tensorboard]\n')
    config = augmentlab.AblationConfig.from_toml(path)
    assert config.track == {"mlflow": {"experiment": "waste"}, "tensorboard": {}}
    assert tracked_sinks(config.track, None, None) is None  # the file's setting stands
    assert tracked_sinks(config.track, ["mlflow"], ["mlflow.uri=sqlite:///x.db"]) == {"mlflow": {"experiment": "waste", "uri": "sqlite:///x.db"}}
    assert tracked_sinks(config.track, None, ["tensorboard.logdir=tb"]) == {"mlflow": {"experiment": "waste"}, "tensorboard": {"logdir": "tb"}}
    assert tracked_sinks(None, ["jsonl", "mlflow"], None) == {"jsonl": {}, "mlflow": {}}
    assert tracked_sinks(config.track, ["mlflow, tensorboard"], None) == {"mlflow": {"experiment": "waste"}, "tensorboard": {}}  # as --aug lists a set
    written = tmp_path / "written.toml"
    written.write_text(config.to_toml())
    assert augmentlab.AblationConfig.from_toml(written).track == config.track


def test_a_bad_track_table_in_a_file_is_named_by_the_file(tmp_path):
    path = tmp_path / "ablation.toml"
    path.write_text('[track.mlflow]\nexperiments = "waste"\n')
    with pytest.raises(FieldError) as error:
        augmentlab.AblationConfig.from_toml(path).validate()
    assert str(error.value) == f"{path}: track sink 'mlflow' has no option 'experiments' — did you mean 'experiment'? its options: uri, experiment"


# --- what a sink hears --------------------------------------------------------------------------


def test_a_sink_hears_the_start_each_stored_run_the_report_and_the_close_and_a_resume_only_what_is_new(recording_plugin, demo, tmp_path):
    config = tiny_config(demo, tmp_path, track={"recording": {}})
    report = augmentlab.run_ablation(config)
    files = ["report.csv", "report.html", "report.json", "report.md", "report.png"]
    assert recording_plugin.EVENTS == [
        ("rec", "started", (), True),
        ("rec", "run", ("none | ce", 0), "finished", 1),
        ("rec", "run", ("hflip | ce", 0), "finished", 1),
        ("rec", "report", files),
        ("rec", "close"),
    ]
    recording_plugin.EVENTS.clear()
    augmentlab.run_ablation(config.with_overrides(seeds=2))
    assert recording_plugin.EVENTS == [
        ("rec", "started", (("hflip | ce", 0), ("none | ce", 0)), True),  # what the store held: a sink adds what it lacks
        ("rec", "run", ("none | ce", 1), "finished", 1),
        ("rec", "run", ("hflip | ce", 1), "finished", 1),
        ("rec", "report", files),
        ("rec", "close"),
    ]
    assert report.runs.finished == 2


@pytest.mark.parametrize(
    "fail_in, heard",
    [
        ("started", [("broken", "started", (), True), ("broken", "close")]),
        ("run", [("broken", "started", (), True), ("broken", "run", ("none | ce", 0), "finished", 1), ("broken", "close")]),
        ("report", [("broken", "started", (), True), ("broken", "run", ("none | ce", 0), "finished", 1),
                    ("broken", "run", ("hflip | ce", 0), "finished", 1), ("broken", "report", [
                        "report.csv", "report.html", "report.json", "report.md", "report.png"]), ("broken", "close")]),
        ("close", None),
    ],
)
def test_a_sink_that_raises_is_one_line_and_the_ablation_and_the_other_sinks_go_on(recording_plugin, demo, tmp_path, fail_in, heard):
    config = tiny_config(demo, tmp_path, track={"broken": {"fail_in": fail_in}, "recording": {}})
    listener = Warnings()
    report = augmentlab.run_ablation(config, progress=listener)
    folder = tmp_path / report.name
    assert report.runs.finished == 2 and rows(folder) == [("hflip | ce", 0, "finished"), ("none | ce", 0, "finished")]
    when = {"started": "at the ablation's start", "run": "for none | ce seed 0", "report": "with the report", "close": "when closing"}[fail_in]
    assert listener.lines == [
        f"sink 'broken' raised {when}: RuntimeError: broken cannot take {fail_in}; the store has every run, "
        f"and the sink hears nothing more in this ablation (traceback in {folder / SINK_LOG})"
    ]
    log = (folder / SINK_LOG).read_text()
    assert "sink 'broken' raised in " in log and "Traceback (most recent call last)" in log and "second line" in log
    broken = [event for event in recording_plugin.EVENTS if event[0] == "broken"]
    if heard is not None:
        assert broken == heard  # nothing after the failure but a quiet close
    assert [event[1] for event in recording_plugin.EVENTS if event[0] == "rec"] == ["started", "run", "run", "report", "close"]


def test_from_python_a_sink_failure_is_a_runtime_warning(recording_plugin, demo, tmp_path):
    with pytest.warns(RuntimeWarning, match=r"^sink 'broken' raised for none \| ce seed 0: RuntimeError: broken cannot take run;"):
        augmentlab.run_ablation(tiny_config(demo, tmp_path, track=["broken"]))


def test_plugins_lists_the_sinks_with_their_options(recording_plugin):
    result = invoke("plugins", "--json")
    sinks = {sink["name"]: sink for sink in json.loads(result.output)["sinks"]}
    assert sinks["mlflow"] == {"name": "mlflow", "provider": "augmentlab.tracking", "options": {"uri": "", "experiment": "augmentlab"},
                               "doc": augmentlab.available_sinks()["mlflow"].doc}
    assert sinks["recording"]["options"] == {"label": "rec", "fail_in": "", "epochs": 1, "rate": 0.5, "verbose": False}
    table = invoke("plugins").output
    assert "Result sinks (--track SINK, --track-opt SINK.KEY=VALUE)" in table and "experiment=augmentlab" in table
