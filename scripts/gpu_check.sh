#!/usr/bin/env bash
# GPU check: a real transformers run on CUDA with --enable-otel must publish NVML GPU metrics.
#
# Builds the tiny random Llama of tests/tiny_model.py (offline, seconds), runs
#   smoltrace-eval --provider transformers --model <dir> --enable-otel --output-format json
# on the GPU, then prints the number of gen_ai.gpu.* data points in metrics.json and the
# leaderboard's GPU, CO2 and power-cost fields, and fails unless they were measured.
# Needs an NVIDIA GPU, CUDA torch, transformers, accelerate and nvidia-ml-py in the environment.
# Takes well under 5 minutes (the smoltrace-eval step is capped at 4).
#
#   scripts/gpu_check.sh                 # uses .venv/bin/python if present, else python3
#   PYTHON=/path/to/python scripts/gpu_check.sh
#   GPU_CHECK_ALLOW_CPU=1 scripts/gpu_check.sh   # dry run on a machine without GPU: the same
#                                                # steps, reporting null GPU fields instead of failing
#   GPU_CHECK_KEEP=DIR scripts/gpu_check.sh      # also copy the run folder's JSON files to DIR
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
ALLOW_CPU="${GPU_CHECK_ALLOW_CPU:-0}"

export LITELLM_LOCAL_MODEL_COST_MAP=True HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export HF_HUB_DISABLE_XET=1 GRADIO_ANALYTICS_ENABLED=False TOKENIZERS_PARALLELISM=false
unset HF_TOKEN OPENAI_API_KEY || true

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== environment"
ALLOW_CPU="$ALLOW_CPU" "$PYTHON" - <<'EOF'
import os, sys
import torch
from genai_otel import gpu_metrics

print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.cuda.is_available()}")
count = 0
if gpu_metrics.NVML_AVAILABLE:
    try:
        gpu_metrics.pynvml.nvmlInit()
        count = gpu_metrics.pynvml.nvmlDeviceGetCount()
        for i in range(count):
            handle = gpu_metrics.pynvml.nvmlDeviceGetHandleByIndex(i)
            print(f"GPU {i}: {gpu_metrics.pynvml.nvmlDeviceGetName(handle)}")
        gpu_metrics.pynvml.nvmlShutdown()
    except Exception as exc:
        print(f"NVML: {exc}")
print(f"NVML GPUs: {count}")
if (count == 0 or not torch.cuda.is_available()) and os.environ["ALLOW_CPU"] != "1":
    sys.exit("gpu_check: no CUDA GPU visible (set GPU_CHECK_ALLOW_CPU=1 for a dry run)")
EOF

echo "== building the tiny model"
"$PYTHON" -c "import sys; sys.path.insert(0, 'tests'); from tiny_model import build_tiny_model; print(build_tiny_model(sys.argv[1]))" "$work/tiny-llama"

echo "== smoltrace-eval on the GPU"
started=$(date +%s)
timeout 240 "$PYTHON" -m smoltrace.cli \
  --provider transformers --model "$work/tiny-llama" \
  --enable-otel --output-format json --output-dir "$work/out" \
  --dataset-name smoltrace-fallback --agent-type both --max-steps 2 \
  --model-args max_tokens=32 do_sample=false \
  --run-id gpu-check --quiet >"$work/eval.log" 2>&1 || {
  tail -n 40 "$work/eval.log"
  echo "gpu_check FAILED: smoltrace-eval exited with an error" >&2
  exit 1
}
tail -n 1 "$work/eval.log"
echo "smoltrace-eval took $(( $(date +%s) - started )) s"

if [[ -n "${GPU_CHECK_KEEP:-}" ]]; then
  mkdir -p "$GPU_CHECK_KEEP" && cp "$work"/out/*/*.json* "$GPU_CHECK_KEEP"/
fi

echo "== GPU metrics"
ALLOW_CPU="$ALLOW_CPU" "$PYTHON" - "$work/out" <<'EOF'
import json, os, sys
from collections import Counter
from pathlib import Path

(folder,) = [p.parent for p in Path(sys.argv[1]).glob("*/metadata.json")]
metrics = json.loads((folder / "metrics.json").read_text())
row = json.loads((folder / "leaderboard_row.json").read_text())
metadata = json.loads((folder / "metadata.json").read_text())

points = Counter()
for batch in metrics["resourceMetrics"]:
    for scope in batch["scopeMetrics"]:
        for metric in scope["metrics"]:
            body = metric.get("gauge") or metric.get("sum") or metric.get("histogram") or {}
            points[metric["name"]] += len(body.get("dataPoints", []))
gpu_points = sum(n for name, n in points.items() if name.startswith("gen_ai.gpu."))
print(f"run folder: {folder.name}; metadata gpu_metrics_enabled={metadata['gpu_metrics_enabled']}")
print(f"metric batches: {len(metrics['resourceMetrics'])}")
print(f"gen_ai.gpu.* data points: {gpu_points}")
for name in sorted(points):
    print(f"  {name}: {points[name]}")
fields = [
    "gpu_utilization_avg", "gpu_utilization_max", "gpu_memory_avg_mib", "gpu_memory_max_mib",
    "gpu_temperature_avg", "gpu_temperature_max", "gpu_power_avg_w",
    "co2_emissions_g", "power_cost_total_usd",
]
print("leaderboard GPU fields:")
for field in fields:
    print(f"  {field}: {row[field]}")
print(f"tasks: {row['total_tests']}, total_tokens: {row['total_tokens']}, traces: {metadata['num_traces']}")

if os.environ["ALLOW_CPU"] == "1":
    sys.exit(0)
problems = []
if gpu_points == 0:
    problems.append("no gen_ai.gpu.* data points")
problems += [f"{f} is null" for f in fields if row[f] is None]
if not (row["gpu_memory_max_mib"] or 0) > 0:
    problems.append("gpu_memory_max_mib is not positive")
if metadata["num_traces"] != row["total_tests"]:
    problems.append("not one trace per task")
if problems:
    sys.exit("gpu_check FAILED: " + "; ".join(problems))
print("gpu_check OK")
EOF
