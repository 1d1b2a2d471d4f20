#!/usr/bin/env bash
# gpu_first_contact.sh: the first run of attnbench on a real NVIDIA GPU (issue #15).
#
# Run it once, from anywhere, on a machine where torch sees a CUDA device:
#
#   benchmarks/gpu_first_contact.sh [OUT_DIR]
#
# Environment: PYTHON (default: python) runs attnbench and pytest; DEVICE (default: cuda:0)
# is the device the suite runs on; EXTRA_ARGS (default: none) is appended to each
# `attnbench run` (e.g. "--variant softmax.sdpa"); ALLOW_CPU=1 lets the script itself be
# checked on a machine without a GPU (with DEVICE=cpu; the figures then mean nothing). It takes about 5-10 minutes and writes into OUT_DIR
# (default: gpu_first_contact-<UTC time>; an existing directory is refused):
#
#   env.txt, env.json        attnbench env (tables and JSON)
#   pytest.log               pytest -m gpu over tests/devices and tests/measure
#   suite.yaml               the short GPU suite below
#   cold.json, hot.json, graph.json and their .log / .md
#                            the suite timed with a cold L2, a hot L2, and CUDA-graph replay
#   summary.md               what to paste into the issue (also printed at the end)
#
# Every step runs even when an earlier one fails; the summary lists each step's exit code.
# Exit status: 0 when every step passed, 1 when some failed, 3 when no GPU is visible.

set -euo pipefail

PYTHON="${PYTHON:-python}"
DEVICE="${DEVICE:-cuda:0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-gpu_first_contact-$(date -u +%Y%m%dT%H%M%SZ)}"

if ! "$PYTHON" -c 'import attnbench, torch' 2>/dev/null; then
    echo "error: '$PYTHON' cannot import attnbench and torch; install attnbench" \
        "(pip install -e .) or set PYTHON=/path/to/venv/bin/python" >&2
    exit 2
fi
if [[ "${ALLOW_CPU:-0}" != 1 ]] &&
    ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "error: torch sees no CUDA device here: $("$PYTHON" -c \
        'import torch; print("torch", torch.__version__, "built for CUDA", torch.version.cuda)')" >&2
    echo "This script is for a machine with an NVIDIA GPU, its driver and a CUDA build of" \
        "torch (check nvidia-smi and CUDA_VISIBLE_DEVICES)." >&2
    exit 3
fi
if [[ -e "$OUT" ]]; then
    echo "error: $OUT already exists; pass a new directory" >&2
    exit 2
fi
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"

declare -a STEPS=()
read -r -a extra <<<"${EXTRA_ARGS:-}"
FAILED=0

# step NAME LOGFILE COMMAND...: run COMMAND with its output in LOGFILE; record its exit code.
step() {
    local name="$1" log="$2"
    shift 2
    echo "== $name" >&2
    local rc=0
    "$@" >"$log" 2>&1 || rc=$?
    STEPS+=("$name: exit $rc")
    if [[ $rc -ne 0 ]]; then
        FAILED=1
        echo "   exit $rc (see $log)" >&2
    fi
}

cat >"$OUT/suite.yaml" <<'YAML'
version: 1
name: gpu_first_contact
description: Short GPU suite for issue 15 (timing modes, passes, backends, flex, energy).
device: cuda
dtype: [bf16]
pass: [fwd, fwd_bwd, bwd]
axes:
  batch: 1
  heads: 16
  seq_len: [1024, 4096]
  head_dim: 64
  causal: [false]
variants:
  - softmax.sdpa
  - softmax.naive
  - softmax.flex
  - {name: cog, impl: streaming}
timing: {warmup_ms: 25, min_samples: 10, min_time_ms: 100, max_time_s: 1, flush: cold}
power: {enabled: auto, min_window_s: 0.5}
check: reduced
YAML

step "attnbench env" "$OUT/env.txt" "$PYTHON" -m attnbench env
step "attnbench env --json" "$OUT/env.json" "$PYTHON" -m attnbench env --json
step "pytest -m gpu" "$OUT/pytest.log" \
    "$PYTHON" -m pytest -m gpu tests/devices tests/measure -q -rs -p no:cacheprovider

for mode in cold hot graph; do
    case "$mode" in
        cold) sets=(--set timing.flush=cold) ;;
        hot) sets=(--set timing.flush=hot) ;;
        graph) sets=(--set timing.flush=hot --set timing.cuda_graph=true) ;;
    esac
    step "run ($mode)" "$OUT/$mode.log" "$PYTHON" -m attnbench run "$OUT/suite.yaml" \
        --device "$DEVICE" --out "$OUT/$mode.json" "${sets[@]}" "${extra[@]}"
    if [[ -f "$OUT/$mode.json" ]]; then
        step "show ($mode)" "$OUT/$mode.md" \
            "$PYTHON" -m attnbench show "$OUT/$mode.json" --format markdown
    fi
done

{
    echo "### gpu_first_contact ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
    echo
    echo "- attnbench commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if command -v nvidia-smi >/dev/null 2>&1; then
        echo "- nvidia-smi: $(nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,mig.mode.current --format=csv,noheader 2>&1 | paste -sd ';' -)"
    else
        echo "- nvidia-smi: not on PATH"
    fi
    echo "- torch: $("$PYTHON" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')"
    echo
    echo "Steps:"
    for line in "${STEPS[@]}"; do
        echo "- $line"
    done
    echo
    echo "pytest -m gpu:"
    echo '```'
    grep -E "passed|failed|error|SKIPPED" "$OUT/pytest.log" | tail -n 15 || true
    echo '```'
    echo
    "$PYTHON" - "$OUT" <<'PY'
import json
import sys
from collections import Counter
from pathlib import Path

out = Path(sys.argv[1])
runs = {}
for mode in ("cold", "hot", "graph"):
    path = out / f"{mode}.json"
    if path.exists():
        runs[mode] = json.loads(path.read_text())
env = json.loads((out / "env.json").read_text()) if (out / "env.json").exists() else {}
for gpu in env.get("gpus", []):
    nv = gpu.get("nvml") or {}
    peak = gpu.get("peak") or {}
    print(f"GPU cuda:{gpu.get('index')}: {gpu.get('name')}, capability {gpu.get('capability')}, "
          f"L2 {gpu.get('l2_bytes')} B, SMs {gpu.get('sm_count')}; NVML default/max SM clock "
          f"{nv.get('default_sm_clock_mhz')}/{nv.get('max_sm_clock_mhz')} MHz, energy counter "
          f"{nv.get('energy_counter')}; peak: {peak.get('name') or peak.get('reason')}")
print(f"NVML: {'available' if env.get('nvml', {}).get('available') else env.get('nvml', {})}")
print()
print("| mode | cases | statuses | warnings | energy method | counter period ms |")
print("|---|---|---|---|---|---|")
for mode, run in runs.items():
    cases = run.get("cases", [])
    statuses = Counter(c["status"] for c in cases)
    warnings = Counter(w for c in cases for w in c.get("warnings", []))
    power = run.get("settings", {}).get("power", {})
    print(f"| {mode} | {len(cases)} | {dict(statuses)} | {dict(warnings)} | "
          f"{power.get('method')} | {power.get('counter_update_period_ms')} |")
print()
print("| case | backend | cold ms | hot ms | graph ms | recompiles | J/call (±bound) |")
print("|---|---|---|---|---|---|---|")
ids = [c["case_id"] for c in runs.get("cold", runs.get("hot", {})).get("cases", [])]
for case_id in ids:
    row = {m: next((c for c in r["cases"] if c["case_id"] == case_id), None)
           for m, r in runs.items()}
    def ms(mode: str) -> str:
        c = row.get(mode)
        if c is None:
            return "-"
        if c["status"] != "ok":
            return f"{c['status']}: {c.get('reason', '')[:60]}"
        return f"{c['metrics'].get('time/median_ms', float('nan')):.4g}"
    first = next(c for c in row.values() if c is not None)
    m = first.get("metrics", {})
    energy = m.get("energy/joules_per_call")
    bound = m.get("energy/rel_error_bound")
    joules = f"{energy:.3g} (±{100 * bound:.1f}%)" if energy and bound else str(energy)
    print(f"| {case_id} | {first.get('backend', '')} | {ms('cold')} | {ms('hot')} | "
          f"{ms('graph')} | {m.get('compile/recompiles', '-')} | {joules} |")
PY
    echo
    echo "Full outputs: $OUT (attach cold.json, hot.json, graph.json and env.json)."
} >"$OUT/summary.md" 2>&1

echo
echo "================ paste everything below into issue #15 ================"
cat "$OUT/summary.md"
echo "========================================================================"
exit "$FAILED"
