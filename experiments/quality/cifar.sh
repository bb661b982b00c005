#!/usr/bin/env bash
# The CIFAR-10 table of experiments/quality/TABLES.md: the rows of rows.sh trained with
# experiment=cifar32_pix2pix on train/, then every final checkpoint evaluated on the official
# test/ split (2,000 images, the same for every row) and reported in one table.
#   CIFAR=/tmp/CIFAR-10-images bash experiments/quality/cifar.sh
#   ROWS_ONLY="pix2pix cls_reb08_ema" CIFAR=... bash experiments/quality/cifar.sh trainer.max_epochs=2
# CIFAR must hold train/<class>/*.jpg and test/<class>/*.jpg (unzip ../shared/data/cifar10-images.zip).
set -euo pipefail
cd "$(dirname "$0")/../.."
CIFAR=${CIFAR:?set CIFAR to the CIFAR-10 class-per-folder copy}
OUT=${OUT:-logs/quality/cifar10-$(date +%Y%m%d-%H%M%S)}
python=${PYTHON:-.venv/bin/python}
EXPERIMENT=cifar32_pix2pix ROOT="$CIFAR" OUT="$OUT/train" PYTHON="$python" FLIP_ROWS="" \
  bash experiments/quality/run.sh "$@"
mkdir -p "$OUT/test"
for ckpt in "$OUT"/train/*/checkpoints/last.ckpt; do
  name=$(basename "$(dirname "$(dirname "$ckpt")")")
  if [[ "$OUT/test/$name/metrics.json" -nt "$ckpt" ]]; then continue; fi  # evaluated already
  "$python" eval.py ckpt_path="$ckpt" data=cifar10 data.root="$CIFAR" data.max_test=2000 \
    split=test hydra.run.dir="$OUT/test/$name" paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" \
    > "$OUT/test/$name.log" 2>&1 || echo "evaluation of $name failed (see $OUT/test/$name.log)"
  if [[ " ${FLIP_ROWS-pix2pix cls_reb08_ema} " == *" $name "* ]]; then  # flip averaging
    "$python" eval.py ckpt_path="$ckpt" data=cifar10 data.root="$CIFAR" data.max_test=2000 \
      split=test tta_flip=true hydra.run.dir="$OUT/test/${name}_flip" \
      paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" > "$OUT/test/${name}_flip.log" 2>&1 \
      || echo "evaluation of ${name}_flip failed (see $OUT/test/${name}_flip.log)"
  fi
done
"$python" -m colorgan.report "$OUT/test"
