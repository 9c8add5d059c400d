#!/usr/bin/env bash
# One-shot GPU check: the test suite on CUDA, the augmentation bench at 512×512, the reference
# study's whole pipeline, and the loss bench. Writes a markdown and a JSON summary (and the raw
# logs) to ${OUT:-bench-out}; downloads nothing. Exits non-zero when a CUDA test fails, no GPU is
# visible or a dependency is missing. Meant to finish in a few minutes on one H100-class GPU.
#
# Run from the repository root, with augmentlab and the example plugin installed:
#   python3 -m pip install --no-deps --no-build-isolation -e . -e ./plugins/augmentlab-example
#   bash benchmarks/gpu_check.sh
# On a machine without network access, carry the missing packages as wheels (kornia, kornia-rs,
# segmentation-models-pytorch, pycocotools, pluggy, typer, pytest-benchmark; albumentations,
# albucore, simsimd and stringzilla for its column) and install them first.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-bench-out}"
mkdir -p "$out"
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 NO_ALBUMENTATIONS_UPDATE=1

"$python" - <<'PY' || exit 2
import importlib.util
import sys

required = ["torch", "kornia", "segmentation_models_pytorch", "pycocotools", "pluggy", "typer", "rich",
            "pytest", "pytest_benchmark", "augmentlab", "augmentlab_example"]
missing = [name for name in required if importlib.util.find_spec(name) is None]
if missing:
    sys.exit(f"gpu_check: missing dependency: {', '.join(missing)}; install it (as a wheel where there is no network) and rerun")
import torch

if not torch.cuda.is_available():
    sys.exit("gpu_check: no CUDA device is visible; this script measures the GPU path")
print(f"gpu_check: {torch.cuda.get_device_name()}, torch {torch.__version__}")
PY

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "gpu_check: tests on CUDA"
"$python" -m pytest --device cuda -q -p no:cacheprovider tests plugins/augmentlab-example/tests > "$out/tests.log" 2>&1
tests_status=$?
tail -n 1 "$out/tests.log"

echo "gpu_check: augmentation bench, 512x512, batch 32"
"$python" -m augmentlab bench augment --device cuda --size 512 --batch 32 --repeats 10 --json "$out/augment.json" > "$out/augment.txt" 2>&1 \
    || echo "gpu_check: the augmentation bench failed, see $out/augment.txt"

# The reference study's geometric and photometric transforms, each at p=0.5, as one pipeline.
pipeline="hflip(p=0.5),vflip(p=0.5),rot90(p=0.5),transpose(p=0.5),affine(p=0.5),elastic(p=0.5),grid(p=0.5),optical(p=0.5)"
pipeline+=",motion_blur(p=0.5),gaussian_blur(p=0.5),gauss_noise(p=0.5),clahe(p=0.5),rgb_shift(p=0.5),hsv(p=0.5)"
pipeline+=",channel_shuffle(p=0.5),brightness(p=0.5),contrast(p=0.5),gamma(p=0.5)"
echo "gpu_check: the reference study's pipeline"
"$python" -m augmentlab bench augment --aug "$pipeline" --device cuda --size 512 --batch 32 --repeats 10 --json "$out/pipeline.json" > "$out/pipeline.txt" 2>&1 \
    || echo "gpu_check: the pipeline bench failed, see $out/pipeline.txt"

echo "gpu_check: loss bench, [16, 11, 256, 256]"
"$python" -m pytest benchmarks/test_bench_losses.py --benchmark-only -k cuda -q -p no:cacheprovider --benchmark-json "$out/losses.json" > /dev/null 2>&1 \
    || echo "gpu_check: the loss bench failed"

"$python" - "$out" "$started" "$tests_status" <<'PY'
import json
import pathlib
import sys

import torch

out, started, tests_status = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])


def load(name):
    path = out / name
    return json.loads(path.read_text()) if path.exists() else None


tests_line = (out / "tests.log").read_text().strip().splitlines()[-1] if (out / "tests.log").exists() else "no test log"
def speed(value):
    return "—" if value is None else f"{value:,.0f}"


device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
summary = {"started": started, "device": device, "torch": torch.__version__,
           "tests": {"status": tests_status, "result": tests_line}, "augment": load("augment.json"),
           "pipeline": load("pipeline.json"), "losses": None}
losses = load("losses.json")
if losses:
    summary["losses"] = {b["param"]: b["stats"]["median"] * 1e3 for b in losses["benchmarks"]}
(out / "summary.json").write_text(json.dumps(summary, indent=2))

lines = [f"# augmentlab GPU check, {summary['device']}, torch {summary['torch']}, {started}", "",
         f"Tests on CUDA: {tests_line} (exit {tests_status})", ""]
for title, data in (("Augmentations, images/s at 512x512, batch 32", summary["augment"]), ("Reference pipeline, p=0.5", summary["pipeline"])):
    if data:
        lines += [f"## {title}", "", "| name | ours | kornia | albumentations (CPU) |", "|---|---|---|---|"]
        lines += [f"| {row['name']} | {speed(row['ours'])} | {speed(row['kornia'])} | {speed(row['albumentations'])} |" for row in data["rows"]]
        lines.append("")
if summary["losses"]:
    lines += ["## Losses, forward+backward ms at [16, 11, 256, 256]", "", "| spec | median ms |", "|---|---|"]
    lines += [f"| {spec} | {ms:.2f} |" for spec, ms in summary["losses"].items()]
(out / "summary.md").write_text("\n".join(lines) + "\n")
print(f"gpu_check: summary in {out}/summary.md")
PY
exit "$tests_status"
