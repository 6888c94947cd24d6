#!/usr/bin/env bash
# Every GPU figure and every GPU-trained checkpoint of the open issues, in one device call.
#
# Here, once:   mkdir -p local && tar czf local/data.tgz -C ../shared/data MNIST cifar10-jpg   (30 MB;
#               /local/ is git-ignored)
# Device call:  run(command="bash bench/gpu_session.sh", carry=["local/data.tgz"], timeout_s=600)
# Dry run here: QUICK=1 OUT=/tmp/gpu_out bash bench/gpu_session.sh   (tiny settings, CPU)
#
# Phase A runs alone on the GPU, so its timings are the figures to report: the CUDA test, the
# train-speed benchmarks (issue 2), the lab's Train button (issue 9), the batch-norm twins
# (issue 6), GPU memory around failed jobs (issue 11), and ResNet-20 with the shipped recipe.
# Phase B trains the other checkpoints side by side (their seconds are under contention):
# 7x7 / 11x11 stems (issue 5), the four Figure-6 nets (issue 9), and two other ResNet-20 recipes
# in case the shipped one stays under 90.5 %. Results come back in $OUT as at most 8 files.
set -u
OUT=${OUT:?set OUT}
here=$(pwd)
budget=${BUDGET_S:-$([ -n "${QUICK:-}" ] && echo 300 || echo 570)}   # start no work past this (s)
started=$(date +%s)
left() { echo $(( budget - ($(date +%s) - started) )); }
log() { echo "[$(( $(date +%s) - started ))s] $*" | tee -a "$OUT/log.txt"; }
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1   # epoch lines only, no progress bars in the log

if [ -n "${QUICK:-}" ]; then
  quick=(--subset 512 --epochs 1); speed_epochs=1; lab=(--epochs 1 --limit 2048); bn=(--steps 20)
  export CNN_LAB_DATA=${CNN_LAB_DATA:-../shared/data}
else
  quick=(); speed_epochs=5; lab=(); bn=(--steps 1000)
  export CNN_LAB_DATA=/tmp/cnn_lab_data
  mkdir -p "$CNN_LAB_DATA" && tar xzf local/data.tgz -C "$CNN_LAB_DATA" || { echo "no local/data.tgz"; exit 1; }
fi
mkdir -p "$OUT/work/pvr"
work=$OUT/work
log "data in $CNN_LAB_DATA"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee -a "$OUT/log.txt"

step() {   # step <name> <seconds at most> <command...>: one figure, its output in log.txt
  local name=$1 limit=$2; shift 2
  local allowed=$(( $(left) < limit ? $(left) : limit ))
  if [ "$allowed" -le 5 ]; then log "SKIPPED $name: out of time"; return; fi
  log "== $name (at most ${allowed}s)"
  timeout "$allowed" "$@" 2>&1 | tee -a "$OUT/log.txt"
  log "== $name: exit ${PIPESTATUS[0]}"
}

# --- Phase A: alone on the GPU --------------------------------------------------------------------
step "CUDA tests" 90 python3 -m pytest -q -p no:cacheprovider tests/test_train.py tests/test_nets.py
step "train speed, GAP net" 90 python3 bench/train_speed.py gap-mnist ${QUICK:+--epochs 1}
step "lab Train button, GAP preset" 90 python3 bench/lab_speed.py "${lab[@]}"
step "batch-norm twins" 60 python3 bench/bn_shift.py "${bn[@]}"
step "GPU memory around stopped, failed and abandoned jobs" 90 python3 bench/gpu_memory.py
step "ResNet-20, shipped recipe (alone)" 150 python3 -m models.train resnet20 "${quick[@]}" \
  --out "$work/resnet20_cifar10.pt"
step "train speed, ResNet-20 (per-epoch ratio)" 90 python3 bench/train_speed.py resnet20 --epochs "$speed_epochs"

# --- Phase B: side by side ------------------------------------------------------------------------
declare -A runs=(
  [resnet20_k7_cifar10]="resnet20-k7"
  [resnet20_k11_cifar10]="resnet20-k11"
  [pvr/plain20_cifar10]="plain20"
  [pvr/plain56_cifar10]="plain56"
  [pvr/resnet20_cifar10]="resnet20"
  [pvr/resnet56_cifar10]="resnet56"
  [resnet20_b256_e50_cifar10]="resnet20 --batch-size 256 --lr 0.2 --epochs 50"
  [resnet20_b128_e40_cifar10]="resnet20 --batch-size 128 --lr 0.1 --epochs 40"
)
allowed=$(( $(left) - 20 ))
if [ "$allowed" -gt 30 ]; then
  log "== phase B: ${#runs[@]} trainings side by side, at most ${allowed}s"
  for name in "${!runs[@]}"; do
    # shellcheck disable=SC2086
    OMP_NUM_THREADS=2 timeout "$allowed" python3 -m models.train ${runs[$name]} "${quick[@]}" \
      --out "$work/$name.pt" > "$work/${name//\//_}.log" 2>&1 &
  done
  wait
  for name in "${!runs[@]}"; do
    log "$name: $(tail -n 2 "$work/${name//\//_}.log" | tr '\n' ' ')"
  done
else
  log "SKIPPED phase B: out of time"
fi

# --- Back to this machine: at most 8 files, 16 MiB each --------------------------------------------
cd "$work" || exit 1
tar cf "$OUT/main.tar" ./*.pt ./*.json 2>/dev/null
tar cf "$OUT/pvr20.tar" pvr/*20_cifar10.* 2>/dev/null
tar cf "$OUT/pvr56.tar" pvr/*56_cifar10.* 2>/dev/null
tail -n +1 ./*.log > "$OUT/train_logs.txt" 2>/dev/null
cd "$here" && rm -rf "$work"
log "done; in \$OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
