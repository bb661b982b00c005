#!/usr/bin/env bash
# One table of experiments/quality/README.md: every row of rows.sh trained on the same data
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
"$python" -m colorgan.report "$OUT"
