#!/usr/bin/env bash
# One-shot GPU check: the test suite on CUDA, the augmentation bench at 512×512, the reference
# study's whole pipeline, the loss bench, the training comparison against the classic CPU
# pipeline (albumentations in DataLoader workers, fp32), and a mini ablation: one run at a time,
# with --parallel 4, and one at a time with --cudnn-benchmark. Writes a markdown and a JSON
# summary (and the raw logs) to ${OUT:-bench-out}; downloads nothing. Exits non-zero when a
# CUDA test fails, no GPU is visible or a dependency is missing. Meant to finish in under 8
# minutes on one H100-class GPU.
#
# Run from the repository root, with augmentlab and the example plugin installed:
#   python3 -m pip install --no-deps --no-build-isolation -e . -e ./plugins/augmentlab-example -e ./plugins/augmentlab-jsonl
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

required = ["torch", "kornia", "segmentation_models_pytorch", "pycocotools", "pluggy", "typer", "rich", "scipy",
            "matplotlib", "albumentations", "pytest", "pytest_benchmark", "augmentlab", "augmentlab_example"]
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
timeout 240 "$python" -m pytest --device cuda -q -p no:cacheprovider tests plugins/augmentlab-example/tests plugins/augmentlab-jsonl/tests > "$out/tests.log" 2>&1
tests_status=$?
tail -n 1 "$out/tests.log"

echo "gpu_check: augmentation bench, 512x512, batch 32"
"$python" -m augmentlab bench augment --device cuda --size 512 --batch 32 --repeats 5 --json "$out/augment.json" > "$out/augment.txt" 2>&1 \
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

# The reference study's set, DeepLabV3+ resnet50 at 512×512, batch 16: ours (bf16, GPU
# augmentation from the device cache) against albumentations in 8 DataLoader workers (fp32).
reference="hflip,vflip,rot90,affine,elastic,grid,brightness,contrast"
echo "gpu_check: training comparison against the classic pipeline"
"$python" -m augmentlab bench train --aug "$reference" --device cuda --encoder resnet50 --image-size 512 --batch-size 16 \
    --workers 8 --epochs 3 --json "$out/train.json" > "$out/train.txt" 2>&1 \
    || echo "gpu_check: the training comparison failed, see $out/train.txt"

# What streaming a split larger than memory costs at 512x512: DataLoader workers against the cache.
echo "gpu_check: streaming throughput"
timeout 120 "$python" benchmarks/stream_throughput.py --device cuda --images 160 > "$out/stream.json" 2> "$out/stream.txt" \
    || echo "gpu_check: the streaming benchmark failed, see $out/stream.txt"

# A demo-sized ablation (4 arms × 2 seeds), one run at a time and then 4 at once on the one GPU,
# both with the demo preset's default (no cuDNN timing); then one at a time with the timing, to
# see what leaving it out costs or saves.
echo "gpu_check: mini ablation, sequential, --parallel 4, and sequential with --cudnn-benchmark"
ablation=(ablate --aug elastic,grid --loss "ce0.8+focal0.2" --seeds 2 --preset demo --device cuda --quiet)
start=$(date +%s.%N)
"$python" -m augmentlab "${ablation[@]}" --out "$out/runs-sequential" > "$out/ablate-sequential.txt" 2>&1 \
    || echo "gpu_check: the sequential ablation failed, see $out/ablate-sequential.txt"
middle=$(date +%s.%N)
"$python" -m augmentlab "${ablation[@]}" --parallel 4 --out "$out/runs-parallel" > "$out/ablate-parallel.txt" 2>&1 \
    || echo "gpu_check: the parallel ablation failed, see $out/ablate-parallel.txt"
end=$(date +%s.%N)
"$python" -m augmentlab "${ablation[@]}" --cudnn-benchmark --out "$out/runs-benchmark" > "$out/ablate-benchmark.txt" 2>&1 \
    || echo "gpu_check: the sequential ablation with --cudnn-benchmark failed, see $out/ablate-benchmark.txt"
tuned=$(date +%s.%N)
"$python" -c "import json, sys; a, b, c, d = map(float, sys.argv[1:]); print(json.dumps({'sequential_s': b - a, 'parallel_s': c - b, 'sequential_cudnn_benchmark_s': d - c}))" \
    "$start" "$middle" "$end" "$tuned" > "$out/ablate.json"
# Where each command's time went (start-up, runs, report), and what one worker's start-up costs.
{ "$python" benchmarks/ablation_timeline.py "$out/runs-sequential" "$start" "$middle"
  "$python" benchmarks/ablation_timeline.py "$out/runs-parallel" "$middle" "$end"
  "$python" benchmarks/ablation_timeline.py "$out/runs-benchmark" "$end" "$tuned"
  "$python" - <<'WORKER'
import json, time
t0 = time.perf_counter()
import torch
import augmentlab.runner.executors.process as executors
from augmentlab.registry.loading import load_plugins
t1 = time.perf_counter()
load_plugins()
t2 = time.perf_counter()
torch.zeros(1, device="cuda")
torch.cuda.synchronize()
t3 = time.perf_counter()
executors.load_training_data(executors.DataRequest(data=None, size=(128, 128)), "cuda")
torch.cuda.synchronize()
t4 = time.perf_counter()
print(json.dumps({"worker_import_s": t1 - t0, "load_plugins_s": t2 - t1, "cuda_init_s": t3 - t2, "demo_data_on_cuda_s": t4 - t3}))
WORKER
} > "$out/ablate-timeline.txt" 2>&1
cp "$out"/runs-sequential/*/report.md "$out/ablate-report.md" 2>/dev/null
cp "$out"/runs-sequential/*/report.png "$out/ablate-report.png" 2>/dev/null

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
           "pipeline": load("pipeline.json"), "losses": None, "train": load("train.json"), "ablation": load("ablate.json"),
           "stream": load("stream.json")}
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
if summary["train"]:
    lines += ["", "## Training step, reference set, resnet50 512x512 batch 16", "", "```", json.dumps(summary["train"], indent=1)[:3000], "```"]
if summary["ablation"]:
    a = summary["ablation"]
    lines += ["", f"## Mini ablation (4 arms x 2 seeds, demo preset): sequential {a['sequential_s']:.1f} s, --parallel 4 {a['parallel_s']:.1f} s"
              f" ({a['sequential_s'] / a['parallel_s']:.2f}x); sequential with --cudnn-benchmark {a['sequential_cudnn_benchmark_s']:.1f} s"]
if summary["stream"]:
    st = summary["stream"]
    lines += ["", f"## Streaming at {st['size']}x{st['size']}, batch {st['batch']}: cache {st['cached_images_per_second']:.0f} img/s,"
              f" streamed {st['streamed_images_per_second']:.0f} img/s with {st['workers']} workers"]
(out / "summary.md").write_text("\n".join(lines) + "\n")
print(f"gpu_check: summary in {out}/summary.md")
PY
exit "$tests_status"
