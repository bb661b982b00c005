#!/usr/bin/env bash
# Evaluate the final checkpoints of a finished table again, without retraining: e.g. on the
# validation split as the current data options define it (data.skip_gray), or with other
# inference options. One folder per row under OUT, then one report.
#   SRC=logs/quality/scenes-full OUT=logs/quality/scenes-colour ROOT=../shared/data/images/scenes \
#     FLIP_ROWS="pix2pix cls_reb08_ema" bash experiments/quality/reeval.sh [eval overrides]
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${SRC:?set SRC to a table folder holding <row>/checkpoints/last.ckpt}
OUT=${OUT:?set OUT to a new folder for the evaluations}
ROOT=${ROOT:-}
python=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
mkdir -p "$OUT"
for ckpt in "$SRC"/*/checkpoints/last.ckpt; do
  name=$(basename "$(dirname "$(dirname "$ckpt")")")
  for flip in false true; do
    run=$name; [[ $flip == true ]] && run=${name}_flip
    if [[ $flip == true && " ${FLIP_ROWS-pix2pix cls_reb08_ema} " != *" $name "* ]]; then continue; fi
    if [[ -f "$OUT/$run/metrics.json" ]]; then continue; fi
    echo "== $run"
    # shellcheck disable=SC2086
    "$python" eval.py ckpt_path="$ckpt" tta_flip=$flip \
      ${EVAL_DATA:-data=folder data.root="$ROOT" data.val_fraction=0.2} split=${EVAL_SPLIT:-val} \
      paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" hydra.run.dir="$OUT/$run" "$@" \
      > "$OUT/$run.log" 2>&1 || echo "evaluation of $run failed (see $OUT/$run.log)"
  done
done
"$python" -m colorgan.report "$OUT"
