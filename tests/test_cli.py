"""The command line through typer's test runner: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from cli_assertions import assert_one_line_error
from typer.testing import CliRunner

from augmentlab import __version__
from augmentlab.cli.app import app

pytestmark = pytest.mark.usefixtures("example_plugin")  # solarize and poly, installed or not


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), env={"COLUMNS": "200"})

    return invoke


def test_version(run):
    result = run("--version")
    assert (result.exit_code, result.stdout) == (0, f"augmentlab {__version__}\n")


def test_help_lists_the_commands(run):
    result = run("--help")
    assert result.exit_code == 0
    for command in ("plugins", "ablate"):
        assert command in result.stdout


@pytest.mark.parametrize("args", [(), ("data",), ("bench",)], ids=["root", "data", "bench"])
def test_a_group_without_a_command_prints_its_help_once(run, args):
    result = run(*args)
    assert (result.exit_code, result.stdout.count("Usage:"), result.stderr) == (0, 1, "")


def test_plugins_lists_builtins_and_the_example_plugin_with_their_providers(run):
    result = run("plugins")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    row = {line.split("│")[1].strip(): line for line in lines if line.startswith("│")}
    assert "augmentlab-example" in row["example"] and "loaded" in row["example"]
    assert "augmentlab.augment" in row["hflip"] and "p=0.5" in row["hflip"]
    assert "example" in row["solarize"] and "threshold=[0.5, 1], p=0.5" in row["solarize"]
    assert "augmentlab.losses" in row["focal"] and "gamma=2" in row["focal"]
    assert "example" in row["poly"]


def test_plugins_json_is_machine_readable(run):
    result = run("plugins", "--json")
    data = json.loads(result.stdout)
    assert {"name": "example", "distribution": "augmentlab-example", "version": "0.1.0", "module": "augmentlab_example.plugin", "status": "loaded", "error": None} in data["plugins"]
    solarize = next(item for item in data["augmentations"] if item["name"] == "solarize")
    assert solarize == {"name": "solarize", "provider": "example", "kind": "photometric", "doc": "Invert every pixel value above a per-sample threshold.", "defaults": {"threshold": [0.5, 1.0], "p": 0.5}}
    assert {item["name"] for item in data["losses"]} >= {"ce", "focal", "poly"}


@pytest.mark.parametrize("args", [("--disable-plugin", "example"), ("-D", "example"), ("--builtins-only",)])
def test_plugin_options_apply_to_commands(run, args):
    data = json.loads(run(*args, "plugins", "--json").stdout)
    example = next(item for item in data["plugins"] if item["name"] == "example")
    assert example["status"] == "disabled"
    assert "solarize" not in {item["name"] for item in data["augmentations"]}


def test_a_broken_plugin_is_reported_in_one_line_and_the_command_goes_on(run, install_distribution):
    install_distribution("augmentlab-broken", {"broken_cli_plugin": "import missing_dependency\n"}, {"broken": "broken_cli_plugin"})
    result = run("plugins", "--json")
    assert result.exit_code == 0
    assert result.stderr == "warning: plugin 'broken' (augmentlab-broken 1.0) failed to load: ModuleNotFoundError: No module named 'missing_dependency' and was skipped\n"
    strict = run("--strict-plugins", "plugins")
    assert_one_line_error(strict, "plugin 'broken' (augmentlab-broken 1.0) failed to load", "strict mode")


def test_ablate_with_a_typo_exits_2_with_one_line_suggesting_the_name(run):
    result = run("ablate", "--aug", "hflp")
    assert_one_line_error(result, "--aug in spec 'hflp' (at column 1): unknown augmentation 'hflp' — did you mean 'hflip'", "`augmentlab plugins` lists all")


def test_ablate_plans_the_full_factorial(run):
    result = run("ablate", "--aug", "hflip,vflip", "--each", "--loss", "ce0.8+focal0.2", "--seeds", "3", "--device", "cpu", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "8 arms × 3 seeds = 24 runs" in result.stdout
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if line.startswith("│")]
    assert rows == [
        ["0", "none", "ce", "baseline"],
        ["1", "none", "ce0.8+focal0.2", ""],
        ["2", "hflip", "ce", ""],
        ["3", "hflip", "ce0.8+focal0.2", ""],
        ["4", "vflip", "ce", ""],
        ["5", "vflip", "ce0.8+focal0.2", ""],
        ["6", "hflip,vflip", "ce", ""],
        ["7", "hflip,vflip", "ce0.8+focal0.2", ""],
    ]
    assert "preset: demo (the default for cpu); device: cpu\n" in result.stdout
    assert "data: built-in demo data (synthetic): 160 train / 40 val images, 12 classes" in result.stdout
    assert "nothing was trained" in result.stdout


def test_ablate_deduplicates_levels_and_names_its_folder_after_the_plan(run):
    first = run("ablate", "--aug", "none", "--aug", "hflip", "--loss", "ce", "--loss", "1*ce", "--device", "cpu", "--dry-run")
    assert "2 arms × 2 seeds = 4 runs" in first.stdout  # two seeds by default: verdicts rest on training noise
    again = run("ablate", "--aug", "hflip", "--device", "cpu", "--dry-run")
    folder = [line for line in first.stdout.splitlines() if "runs/ablation-" in line]
    assert folder and folder == [line for line in again.stdout.splitlines() if "runs/ablation-" in line]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--loss", "ce0.8+focla0.2"), ("--loss in spec 'ce0.8+focla0.2' (at column 7): unknown loss 'focla' — did you mean 'focal'?",)),
        (("--loss", "ce+"), ("--loss in spec 'ce+' (at column 4): empty term: remove the extra '+'",)),
        (("--aug", "elastic(alpha=2"), ("--aug in spec 'elastic(alpha=2' (at column 8): unbalanced parentheses",)),
        (("--seeds", "0"), ("--seeds must be ≥ 1, got 0",)),
        (("--epochs", "0"), ("--epochs must be a whole number ≥ 1, got 0",)),
        (("--image-size", "100"), ("--image-size must be N or H×W with each a multiple of 16 and ≥ 32 (the models downsample by 16), got 100",)),
        (("--batch-size", "1"), ("--batch-size must be ≥ 2 (batch norm needs two samples to train), got 1",)),
        (("--lr", "-1"), ("--lr must be a number > 0, got -1.0",)),
        (("--device", "tpu"), ("--device 'tpu' is not a device; choose auto, cpu or cuda",)),
        (("--preset", "fast"), ("--preset 'fast' is not a preset; choose one of demo, standard",)),
        (("--preset", "dem"), ("--preset 'dem' is not a preset; choose one of demo, standard — did you mean 'demo'?",)),
        (("--device", "gpu"), ("--device 'gpu' is not a device; choose auto, cpu or cuda — did you mean 'cuda'?",)),
        (("--schedule", "cosin"), ("--schedule must be one of constant, poly, cosine, got 'cosin' — did you mean 'cosine'?",)),
        (("--resize", "fil"), ("--resize must be one of stretch, fit, got 'fil' — did you mean 'fit'?",)),
        (("--eval-size", "nativ"), ("--eval-size must be native or train, got 'nativ' — did you mean 'native'?",)),
        (("--executor", "rey"), ("--executor must be local or ray, got 'rey' — did you mean 'ray'?",)),
        (("--encoder", "resnet19"), ("--encoder 'resnet19' is not an encoder of segmentation_models_pytorch — did you mean 'resnet18'",)),
        (("--encoder-weights", "missing.pt"), ("--encoder-weights 'missing.pt' is neither imagenet, none nor an existing file",)),
        (("--data", "no/such/train.json"), ("COCO annotation file no/such/train.json does not exist; pass the path of the instances json",)),
        (("--data", "."), ("is a folder; give its masks' folder as --masks for an image+mask folder dataset",)),
        (("--val-split", "1.5"), ("--val-split must be between 0 and 1 (exclusive), got 1.5",)),
        (("--name", "a/b"), ("--name 'a/b' may hold only letters, digits, '.', '_' and '-'",)),
        (("--config", "no-such.toml"), ("config file no-such.toml does not exist",)),
        (("--augs", "hflip"), ("No such option: --augs", "(see `augmentlab ablate --help`)")),
        (("--seeds", "two"), ("Invalid value for '--seeds'",)),
        (("--aug",), ("Option '--aug' requires an argument",)),
    ],
)
def test_ablate_rejects_bad_input_in_one_line(run, args, fragments):
    assert_one_line_error(run("ablate", "--device", "cpu", *args) if "--device" not in args else run("ablate", *args), *fragments)


@pytest.mark.skipif(torch.cuda.is_available(), reason="asks for CUDA where there is none")
def test_ablate_on_cuda_without_a_gpu_says_what_to_pass(run):
    assert_one_line_error(run("ablate", "--device", "cuda"), "--device is cuda, but no CUDA device is visible; give cpu or auto")


def test_unknown_command_is_one_line(run):
    assert_one_line_error(run("ablat"), "No such command 'ablat'")


def test_config_file_lists_arms_and_the_command_line_overrides_it(run, tmp_path):
    config = tmp_path / "study.toml"
    config.write_text(
        "# flips against the baseline\n"
        "seeds = 2\n"
        "[recipe]\nepochs = 7\nimage_size = 64\n"
        "[[arms]]\naug = 'hflip'\n"
        "[[arms]]\naug = 'vflip'\nloss = 'focal(gamma=3)'\n"
    )
    result = run("ablate", "--config", str(config), "--epochs", "2", "--device", "cpu", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "3 arms × 2 seeds = 6 runs" in result.stdout
    assert "2 epochs, 64px" in result.stdout
    assert "│ 2 │ vflip        │ focal(gamma=3) │" in result.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("seeds = [", "is not valid TOML"),
        ("sedes = 2", "unknown key 'sedes' — did you mean 'seeds'? valid keys: address, arms, aug, cache_memory, classes, compile, correction, cpus_per_run, cudnn_benchmark, data, design, device, devices, each, executor, foldover, gpus_per_run, host_memory, ignore_index, images, loss, margin, mask_colours, masks, max_seeds, name, out, parallel, pooling, preset, recipe, seeds, strict, track, val, val_images, val_masks, val_split"),
        ("val_split = '0.2'", "bad.toml: val_split must be a number, got '0.2'"),
        ("val_split = 2.0", "bad.toml: val_split must be between 0 and 1 (exclusive), got 2.0"),
        ("ignore_index = true", "bad.toml: ignore_index must be a whole number, got True"),
        ("ignore_index = 2.5", "bad.toml: ignore_index must be a whole number, got 2.5"),
        ("strict = 1", "bad.toml: strict must be true or false, got 1"),
        ("classes = 'background,paper'", "bad.toml: classes must be a list of text, got 'background,paper'"),
        ("classes = ['background', ' ']", "bad.toml: classes must be class names without commas, background first, got ('background', ' ')"),
        ("classes = []", "bad.toml: classes must be class names without commas, background first, got ()"),
        ("[recipe]\nepoch = 2", "unknown recipe field 'epoch'"),
        ("[recipe]\nimage_size = 30", "bad.toml: [recipe] image_size must be N or H×W with each a multiple of 16"),
        ("aug = 'hflip'\n[[arms]]\naug = 'vflip'", "bad.toml: arms are listed, and so are aug or loss lists; give one or the other"),
        ("[[arms]]\naug = 'hflip'\nlos = 'ce'", "bad.toml: arms entry 0 must be a table with text keys aug and loss, got {'aug': 'hflip', 'los': 'ce'}"),
        # Found while the data loads, still named as the file writes them; settings from the command line stay flags.
        ("classes = ['a', 'b']", "bad.toml: classes names the classes of a folder dataset; a COCO dataset takes its class names from its categories"),
        ("masks = '/tmp'", "bad.toml: masks goes with --data IMAGES_DIR; the demo data is a COCO dataset"),
    ],
)
def test_bad_config_files_are_one_line(run, tmp_path, content, fragment):
    config = tmp_path / "bad.toml"
    config.write_text(content)
    assert_one_line_error(run("ablate", "--config", str(config), "--device", "cpu"), fragment)


@pytest.mark.parametrize(
    ("setting", "option", "outcome"),
    [
        # 0.3 wins over the file's 2.0, and is then refused for the demo data, which has its own val split
        ("val_split = 2.0", ("--val-split", "0.3"), "error: --val-split 0.3 holds out a share of --data; the built-in demo data"),
        ("ignore_index = true", ("--ignore-index", "254"), "dry run: nothing was trained or written"),
        ("strict = 1", ("--strict",), "dry run: nothing was trained or written"),
        # the command line's names reach the data loader, which says a COCO file has its own
        ("classes = 'a,b'", ("--classes", "background,paper"), "error: --classes names the classes of a folder dataset"),
    ],
)
def test_data_options_on_the_command_line_override_the_config_file(run, tmp_path, setting, option, outcome):
    # Each setting would be refused; given on the command line, the option wins and the setting is never read.
    config = tmp_path / "study.toml"
    config.write_text(setting + "\n")
    result = run("ablate", "--config", str(config), *option, "--device", "cpu", "--dry-run")
    assert result.output.strip().splitlines()[-1].startswith(outcome)


EXPERIMENTS = sorted((Path(__file__).parents[1] / "experiments").glob("*.toml"))


@pytest.mark.parametrize("config", EXPERIMENTS, ids=[path.stem for path in EXPERIMENTS])
def test_every_shipped_experiment_plans(run, config):
    result = run("ablate", "--config", str(config), "--device", "cpu", "--dry-run")
    assert result.exit_code == 0, result.output
    assert config.read_text().startswith("# "), "each experiment starts with a comment saying what it asks"


def test_the_shipped_experiments_are_there():
    assert {path.stem for path in EXPERIMENTS} == {"geometric", "photometric", "weather", "losses", "final", "screen"}


def test_quiet_plans_in_plain_lines(run):
    result = run("ablate", "--aug", "hflip", "--loss", "focal", "--device", "cpu", "--quiet", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "arm 0: none | ce (baseline)" in lines and "arm 3: hflip | focal" in lines
    assert "│" not in result.stdout and "\x1b[" not in result.stdout


@pytest.mark.parametrize("args", [(), ("--aug", "none"), ("--loss", "ce", "--aug", "none")])
def test_a_baseline_alone_plans_its_seeds_and_says_there_is_nothing_to_compare(run, args):
    result = run("ablate", "--device", "cpu", "--dry-run", *args)
    assert result.exit_code == 0, result.output
    assert "1 arm × 2 seeds = 2 runs" in result.stdout
    assert ("only the baseline: its seeds measure the training noise, and there is nothing to compare it with; "
            "add --aug SET or --loss SPEC\n") in result.stdout
    assert "only the baseline" not in run("ablate", "--device", "cpu", "--dry-run", "--aug", "hflip").stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--design", "screen", "--aug", "hflip"), "--aug gives 1 factor(s) to screen; a screening design needs two or more"),
        (("--design", "screen", "--aug", "hflip,vflip", "--loss", "ce"), "--loss is ce, the baseline loss; the loss factor is a spec screened against ce"),
        (("--design", "screen", "--aug", "hflip,hflip,vflip"), "augmentation 'hflip' is listed twice"),
        (("--design", "screen", "--aug", "hflip,vflip,rot90", "--each"), "--each is design each; it does not go with design screen"),
        (("--design", "nope"), "--design must be one of factorial, each, screen, got 'nope'"),
        (("--seeds", "1", "--max-seeds", "3"), "--seeds must be 2 or more for sequential seeds"),
        (("--seeds", "3", "--max-seeds", "2"), "--max-seeds must be at least the first look's seeds (3), got 2"),
        (("--foldover", "--aug", "hflip"), "--foldover only applies to a screening design (design screen), not design factorial"),
        (("--margin", "-0.1"), "--margin must be a number between 0 and 1 (an mIoU difference, such as 0.01), got -0.1"),
        (("--margin", "2"), "--margin must be a number between 0 and 1 (an mIoU difference, such as 0.01), got 2.0"),
        (("--lr", "inf"), "--lr must be a number > 0, got inf"),
        (("--lr", "nan"), "--lr must be a number > 0, got nan"),
        (("--margin", "abc"), "Invalid value for '--margin'"),
        (("--correction", "bonf"), "--correction must be one of holm, bh, none, got 'bonf'"),
        (("--pooling", "x"), "--pooling must be one of pooled, arm, got 'x'"),
    ],
)
def test_bad_design_options_are_one_line(run, args, fragment):
    assert_one_line_error(run("ablate", "--device", "cpu", "--dry-run", *args), fragment)


@pytest.mark.parametrize(
    ("args", "plan"),
    [
        (("--aug", "hflip,vflip,rot90,transpose,affine,elastic,grid", "--design", "screen", "--seeds", "1"), "8 arms × 1 seed = 8 runs"),
        (("--aug", "hflip,vflip,rot90", "--design", "screen", "--foldover", "--seeds", "1"), "8 arms × 1 seed = 8 runs"),
        (("--aug", "hflip", "--loss", "ce0.8+focal0.2", "--seeds", "2", "--max-seeds", "4"),
         "4 arms × 2 seeds = 8 runs, then one more seed where a verdict is open, up to 4 seeds (16 runs at most, 3 looks)"),
    ],
)
def test_designs_plan_their_runs(run, args, plan):
    result = run("ablate", "--device", "cpu", "--dry-run", *args)
    assert result.exit_code == 0, result.output
    assert plan in result.stdout



@pytest.mark.parametrize(
    ("args", "row_start", "row_fragment"),
    [
        (("plugins",), "│ hflip ", "│ geometric   │ augmentlab.augment │"),
        (("data", "stats"), "│  0 │", "│ background    │"),
    ],
    ids=["plugins", "data-stats"],
)
def test_tables_piped_to_a_file_keep_their_words_whole(args, row_start, row_fragment):
    """Output to a file or pipe gets 160 columns, as ablate's and report's do, not rich's 80 that cut 'background' to 'backgro…'."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": None, "LINES": None})
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith(row_start))
    assert row_fragment in row


def test_more_parallel_runs_than_cores_on_a_cpu_is_pointed_out(run, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    result = run("ablate", "--device", "cpu", "--parallel", "4", "--dry-run")
    assert result.exit_code == 0, result.output
    assert ("parallel 4 on a CPU with 2 cores: the runs share the cores, so no more than 2 at once go faster; "
            "set parallel to 2 or fewer (--parallel)") in " ".join(result.output.split())
