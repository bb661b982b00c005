#!/usr/bin/env bash
# Table 8 of experiments/quality/TABLES.md: chroma-gain curves of a table's final checkpoints,
# every point with flip averaging, the gain applied about gray (model.chroma_center=zero, folders
# <OUT>/G0-<row>) and about each image's own mean chroma (chroma_center=image, <OUT>/GI-<row>).
#   SRC=logs/quality/scenes-colour ROOT=../shared/data/images/scenes ROWS="l1_ema pix2pix" \
#     ZERO="1.0 1.2 1.4" IMAGE="1.3 1.5" bash experiments/quality/centres.sh
# EVAL_DATA / EVAL_SPLIT evaluate on another dataset or split, as in temperature.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${SRC:?set SRC to a table folder holding <row>/checkpoints/last.ckpt}
OUT=${OUT:-$(dirname "$SRC")}
ROWS=${ROWS:-$(cd "$SRC" && ls -d */ | tr -d /)}
for row in $ROWS; do
  ckpt="$SRC/$row/checkpoints/last.ckpt"
  for center in zero image; do
    values=${ZERO:-"1.0 1.2 1.4"}; tag=G0
    if [[ $center == image ]]; then values=${IMAGE:-"1.2 1.4 1.6"}; tag=GI; fi
    echo "== $row, gain about $center"
    KNOB=chroma_gain VALUES="$values" CKPT="$ckpt" OUT="$OUT/$tag-$row" \
      bash experiments/quality/temperature.sh tta_flip=true chroma_center=$center "$@"
  done
done
