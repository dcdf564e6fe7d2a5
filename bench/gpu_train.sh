#!/bin/sh
# Train a shipped model on a lent GPU machine (JAX; that machine has no TensorFlow, no Debian packages and no
# network), then bring the run folder back to be scored and exported here.
#
# Here, once: `python bench/gpu_prepare.py [MATERIAL]` puts in place (and leaves out of git) what travels:
#   - the wheels of what that machine lacks, for its Python 3.12, in .whl/ (keras namex optree soundfile cffi
#     pycparser g722 librosa audioread decorator pooch soxr platformdirs, at Pipfile.lock's versions; they
#     install --no-deps);
#   - the recordings the material needs, under .gpu/sounds/ as they lie under /usr/share/asterisk/sounds/
#     (vocoder-16k: the three voices' .g722 files that bench/common.py's dev_speech_files picks, 33 MB) or
#     .gpu/moh/ (music).
# There, with .whl and .gpu carried (run's carry=[".whl", ".gpu"]):
#   sh bench/gpu_train.sh MATERIAL MINUTES BATCH LIMIT_SECONDS [INIT_FROM [LEARNING_RATE]]
# (INIT_FROM: start from that model's weights, a shipped name such as vocoder-16k: a fresh schedule on top
# of an earlier lease's training; LEARNING_RATE: its peak, default shipped_models.py's 0.003) builds the dataset from the carried prompts, trains MATERIAL for MINUTES with
# BATCH windows a batch (killed at LIMIT_SECONDS if the full-validation score at the end would run past it:
# the run folder survives that, and `bench/shipped_models.py train` resumed here finishes its summary), and leaves in $OUT the log, the run folder
# (run.tgz) and the dataset's metadata.json (to check that it split its files as the dataset built here does).
set -u
material=$1 minutes=$2 batch=$3 limit=$4 init=${5:-} rate=${6:-}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax AUDIORNN_BENCH_SOUNDS=$PWD/.gpu/sounds PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee "$OUT/train.log"
python3 -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)" 2>&1 \
    | tee -a "$OUT/train.log"
work=/tmp/gpu-work
timeout -s TERM "$limit" python3 bench/shipped_models.py train "$material" --minutes "$minutes" \
    --batch-size "$batch" --work "$work" ${init:+--init-from "$init"} ${rate:+--learning-rate "$rate"} \
    >>"$OUT/train.log" 2>&1
echo "exit $?" >>"$OUT/train.log"
tar czf "$OUT/run.tgz" -C "$work" "$material-run"
cp "$work/$material-dataset/metadata.json" "$OUT/metadata.json"
tail -n 30 "$OUT/train.log"
