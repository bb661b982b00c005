#!/usr/bin/env bash
# Every table of experiments/films, in order (README.md). CKPT: experiment=films_reference's
# checkpoint; DEP: experiment=films_dependent's. Clips and tables go to OUT (never ../shared).
#   CKPT=.../hints.ckpt DEP=.../dependent.ckpt OUT=logs/films bash experiments/films/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${CKPT:?set CKPT to a films_reference checkpoint}" "${OUT:=logs/films}"
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$OUT"
$PY experiments/films/clips.py joined --out "$OUT/clips" > "$OUT/joined.json.log"
$PY experiments/films/clips.py val --out "$OUT/val" > "$OUT/val.json.log"
$PY experiments/films/choose_val.py --ckpt "$CKPT" --val "$OUT/val" --choice "$OUT/choice.json" \
    | tee "$OUT/val.md"
$PY experiments/films/run.py --ckpt "$CKPT" --joined "$OUT/clips" --choice "$OUT/choice.json" \
    --json "$OUT/test.json" | tee "$OUT/test.md"
if [ -n "${DEP:-}" ]; then
    $PY experiments/films/dependent.py --ckpt "$CKPT" --dependent "$DEP" --joined "$OUT/clips" \
        --json "$OUT/dependent.json" | tee "$OUT/dependent.md"
fi
