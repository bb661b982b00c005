#!/usr/bin/env bash
# The temperature curve of one colour-classification checkpoint (docs/quality.md): the same
# model evaluated at several annealed-mean temperatures on the validation split of its folder.
#   CKPT=logs/.../last.ckpt ROOT=../shared/data/images/scenes bash experiments/quality/temperature.sh
# Another dataset and split: EVAL_DATA and EVAL_SPLIT, e.g. CIFAR-10's test split:
#   CKPT=... EVAL_DATA="data=cifar10 data.root=/tmp/cifar/CIFAR-10-images data.max_test=2000" \
#     EVAL_SPLIT=test bash experiments/quality/temperature.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
CKPT=${CKPT:?set CKPT to a checkpoint trained with model.classification.enabled=true}
if [[ -z "${EVAL_DATA:-}" ]]; then
  ROOT=${ROOT:?set ROOT to the photo folder the checkpoint was trained on (or EVAL_DATA)}
  EVAL_DATA="data=folder data.root=$ROOT data.image_size=64 data.val_fraction=0.2"
fi
TEMPS=${TEMPS:-"1.0 0.7 0.5 0.38 0.25 0.15 0.08"}
OUT=${OUT:-logs/quality/temperature-$(date +%Y%m%d-%H%M%S)}
python=${PYTHON:-.venv/bin/python}
for t in $TEMPS; do
  # shellcheck disable=SC2086
  "$python" eval.py ckpt_path="$CKPT" $EVAL_DATA split="${EVAL_SPLIT:-val}" \
    temperature="$t" hydra.run.dir="$OUT/T$t" \
    paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" > "$OUT.T$t.log" 2>&1 || { cat "$OUT.T$t.log"; exit 1; }
done
"$python" - "$OUT" $TEMPS <<'PY'
import json, sys
out, temps = sys.argv[1], sys.argv[2:]
print("| T | PSNR (dB) | SSIM | colorfulness | CIEDE2000 |\n|---|---|---|---|---|")
for t in temps:
    m = json.load(open(f"{out}/T{t}/metrics.json"))["model"]
    print(f"| {t} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['colorfulness']:.2f} | {m['ciede2000']:.2f} |")
PY
