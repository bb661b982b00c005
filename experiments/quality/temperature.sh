#!/usr/bin/env bash
# One checkpoint's curve along an inference knob (docs/quality.md): the same model evaluated at
# several annealed-mean temperatures (classification models) or chroma gains (any model) on the
# validation split of its folder. Extra arguments go to eval.py (e.g. tta_flip=true).
#   CKPT=logs/.../last.ckpt ROOT=../shared/data/images/scenes bash experiments/quality/temperature.sh
#   KNOB=chroma_gain VALUES="0.75 1.0 1.25 1.5" CKPT=... ROOT=... bash experiments/quality/temperature.sh
# Another dataset and split: EVAL_DATA and EVAL_SPLIT, e.g. CIFAR-10's test split:
#   CKPT=... EVAL_DATA="data=cifar10 data.root=/tmp/cifar/CIFAR-10-images data.max_test=2000" \
#     EVAL_SPLIT=test bash experiments/quality/temperature.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KNOB=${KNOB:-temperature}
case "$KNOB" in
  temperature) tag=T; VALUES=${VALUES:-${TEMPS:-"1.0 0.7 0.5 0.38 0.25 0.15 0.08"}} ;;
  chroma_gain) tag=G; VALUES=${VALUES:-"0.5 0.75 1.0 1.25 1.5"} ;;
  *) echo "KNOB=$KNOB: use temperature or chroma_gain" >&2; exit 2 ;;
esac
CKPT=${CKPT:?set CKPT to a checkpoint (a temperature needs model.classification.enabled=true)}
if [[ -z "${EVAL_DATA:-}" ]]; then
  ROOT=${ROOT:?set ROOT to the photo folder the checkpoint was trained on (or EVAL_DATA)}
  EVAL_DATA="data=folder data.root=$ROOT data.image_size=64 data.val_fraction=0.2"
fi
OUT=${OUT:-logs/quality/$KNOB-$(date +%Y%m%d-%H%M%S)}
python=${PYTHON:-.venv/bin/python}
for v in $VALUES; do
  # shellcheck disable=SC2086
  "$python" eval.py ckpt_path="$CKPT" $EVAL_DATA split="${EVAL_SPLIT:-val}" \
    "$KNOB=$v" hydra.run.dir="$OUT/$tag$v" "$@" \
    paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" > "$OUT.$tag$v.log" 2>&1 || { cat "$OUT.$tag$v.log"; exit 1; }
done
"$python" - "$OUT" "$tag" $VALUES <<'PY'
import json, sys
out, tag, values = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"| {tag} | PSNR (dB) | SSIM | colorfulness | CIEDE2000 |\n|---|---|---|---|---|")
for v in values:
    m = json.load(open(f"{out}/{tag}{v}/metrics.json"))["model"]
    print(f"| {v} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['colorfulness']:.2f} | {m['ciede2000']:.2f} |")
PY
