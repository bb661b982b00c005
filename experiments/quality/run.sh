#!/usr/bin/env bash
# One table of experiments/quality/TABLES.md: every row of rows.sh trained on the same data
# with the same budget, then one report (report.md / report.csv / report.png).
#   ROOT=../shared/data/images/scenes bash experiments/quality/run.sh            # scene photos
#   ROWS_ONLY="mse pix2pix" ROOT=... bash experiments/quality/run.sh trainer.max_epochs=10
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=${ROOT:?set ROOT to a folder of photos, e.g. ../shared/data/images/scenes}
OUT=${OUT:-logs/quality/$(basename "$ROOT")-$(date +%Y%m%d-%H%M%S)}
EXPERIMENT=${EXPERIMENT:-scenes64_pix2pix}
python=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
source experiments/quality/rows.sh
for row in "${ROWS[@]}"; do
  name=${row%%|*}; overrides=${row#*|}
  if [[ -n "${ROWS_ONLY:-}" && " $ROWS_ONLY " != *" $name "* ]]; then continue; fi
  echo "== $name: $overrides"
  # shellcheck disable=SC2086
  "$python" train.py experiment="$EXPERIMENT" data.root="$ROOT" $overrides "$@" \
    paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" hydra.run.dir="$OUT/$name" \
    || echo "row $name failed (see $OUT/$name)"
done
# flip averaging: the same checkpoints evaluated again with test-time flips (no retraining)
for name in ${FLIP_ROWS-pix2pix cls_reb08_ema}; do
  ckpt="$OUT/$name/checkpoints/last.ckpt"
  if [[ ! -f "$ckpt" || -f "$OUT/${name}_flip/metrics.json" ]]; then continue; fi
  echo "== ${name}_flip: tta_flip=true on $ckpt"
  # shellcheck disable=SC2086
  "$python" eval.py ckpt_path="$ckpt" tta_flip=true ${EVAL_DATA:-data=folder data.root="$ROOT" data.val_fraction=0.2} \
    split=${EVAL_SPLIT:-val} paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" \
    hydra.run.dir="$OUT/${name}_flip" > "$OUT/${name}_flip.log" 2>&1 \
    || echo "row ${name}_flip failed (see $OUT/${name}_flip.log)"
done
"$python" -m colorgan.report "$OUT"
