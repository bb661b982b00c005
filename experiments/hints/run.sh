#!/usr/bin/env bash
# experiments/hints (README.md): the automatic scenes64_best and the hint model scenes64_hints
# on the test split of the scene photos with 0..50 simulated points per photo (the same points
# for both, placed by file name and hints.seed), the classic fills under the same points
# (Levin et al. 2004, nearest hint, nearest + L) and the global hint rows (none, the photo's
# own palette, another test photo of its class folder); then the tables and the plot.
#   BEST=/work/runs/best_s42/checkpoints/<ckpt> HINTS=/work/runs/hints_s42/checkpoints/<ckpt> \
#     ROOT=../shared/data/images/scenes bash experiments/hints/run.sh
# The split is the one both checkpoints were trained with (test_fraction 0.1, val_fraction 0.2,
# split_seed 0): the test photos were used by no training, checkpoint selection or calibration.
# Every row is one `python eval.py ...` (OUT/commands.txt lists them); run.py runs them in one
# process. A rerun with the same OUT continues where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
BEST=${BEST:?set BEST to the experiment=scenes64_best checkpoint}
HINTS=${HINTS:?set HINTS to the experiment=scenes64_hints checkpoint}
OUT=${OUT:-logs/hints/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
# shellcheck disable=SC2086
"${PYTHON:-.venv/bin/python}" experiments/hints/run.py --best "$BEST" --hints "$HINTS" \
  --root "${ROOT:-../shared/data/images/scenes}" --out "$OUT" --seed "${SEED:-0}" \
  --points ${POINTS:-0 1 2 5 10 20 50} --ref-points ${REF_POINTS:-0 10} \
  --plot "${PLOT:-docs/images/hints_psnr_points.png}" | tee "$OUT.md"
