#!/usr/bin/env bash
# GPU checks and figures, run by hand on a CUDA machine (CI has no GPU): the CUDA tests, then the
# training-variants benchmark for the small and base presets. Writes logs and JSON to ${OUT:-runs/gpu}.
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
timeout ${TEST_TIMEOUT:-240} python3 -m pytest tests/test_gpu.py -q -x -p no:cacheprovider 2>&1 | tee "$OUT/gpu_tests.log"
for preset in small base; do
  timeout ${BENCH_TIMEOUT:-200} python3 -m minimind_sft.bench train --device cuda --preset $preset --batch_size ${BATCH:-64} \
    --samples ${SAMPLES:-3000} --data_path data/sft_train.jsonl --json "$OUT/bench_$preset.json" 2>&1 | tee "$OUT/bench_$preset.log"
done
