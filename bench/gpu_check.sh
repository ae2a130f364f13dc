#!/usr/bin/env bash
# The GPU check, as one prepared script for a machine with JAX but neither TensorFlow nor Ray.
# Carry the wheels of keras, namex and optree in .whl/ (see bench/RESULTS.md); results go to
# $OUT (the device tool's folder) or bench/out. Each run writes its own CSV, so a run cut
# short still leaves the ones before it.
set -u
out=${OUT:-bench/out}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 2
    export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import jax, keras; print('jax', jax.__version__, 'keras', keras.__version__, jax.devices())"
run() {  # seconds allowed, name, then bench.gpu_throughput flags
    local limit=$1 name=$2
    shift 2
    echo "== $name: $*"
    timeout "$limit" python3 -m bench.gpu_throughput "$@" --out "$out/$name.csv" \
        >"$out/$name.log" 2>&1 || echo "$name failed: $?"
    grep -v -E '^[WI][0-9]{4}' "$out/$name.log" | tail -5
}
# InceptionResNetV2's first training step compiles for minutes under Keras-JAX (2026-11-26 on
# an H100: not done after 250 s; on this CPU 165 s at 75 px), so it runs first and alone with
# the most time; the device tool allows 600 s a command and 15 minutes a session, start included.
run 420 irv2_bf16_b64 --models inception_resnet_v2 --steps 100 --warmup 2
run 60 superres_bf16_b64 --models superres --steps 400
