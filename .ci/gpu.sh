#!/usr/bin/env bash
# GPU checks and figures, run by hand on a CUDA machine (CI has no GPU): the base preset's variants table
# first (it carries the MFU target), then the CUDA tests, then the small preset's table. Logs and JSON go
# to ${OUT:-runs/gpu}; each bench rewrites its JSON after every variant, so a run cut short keeps its rows.
# The timeouts add up to 560 s, to fit one 10-minute call on a borrowed machine:
#   run(command="bash .ci/gpu.sh", carry=[".whl"], timeout_s=590)
# Where pip cannot reach PyPI, put wheels of missing pure-Python packages (fastcore) in .whl/ first.
set -uo pipefail
OUT=${OUT:-runs/gpu}; mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/gpu.txt"
bench() {  # preset, time limit in seconds
  timeout "$2" python3 -m minimind_sft.bench train --device cuda --preset "$1" --batch_size ${BATCH:-64} \
    --samples ${SAMPLES:-3000} --data_path data/sft_train.jsonl --json "$OUT/bench_$1.json" 2>&1 | tee "$OUT/bench_$1.log"
}
bench base ${BASE_TIMEOUT:-220}
timeout ${TEST_TIMEOUT:-200} python3 -m pytest tests/test_gpu.py -q -x -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log"
bench small ${SMALL_TIMEOUT:-140}
