#!/usr/bin/env bash
# The CIFAR-10 grid of experiments/cifar10_grid/README.md: 2 generators x 2 discriminators x
# 2 L1 weights (conf/sweep/grid.yaml), sized for a 2-core CPU (about 20-30 minutes).
#   CIFAR=/path/to/CIFAR-10-images bash experiments/cifar10_grid/run.sh [more overrides]
# CIFAR must hold train/<class>/*.jpg and test/<class>/*.jpg (e.g. unzip cifar10-images.zip).
set -euo pipefail
cd "$(dirname "$0")/../.."
CIFAR=${CIFAR:?set CIFAR to the CIFAR-10 class-per-folder copy}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
python=${PYTHON:-.venv/bin/python}
"$python" train.py -m sweep=grid data=cifar10 data.root="$CIFAR" \
  data.max_train=4000 data.max_val=500 trainer.max_epochs=3 data.num_workers=0 \
  paths.data_dir="${DATA_CACHE:-/tmp/colorgan_data}" "$@"
# then, for the best job:  python eval.py ckpt_path=<sweep>/<job>/checkpoints/last.ckpt \
#   data=cifar10 data.root="$CIFAR" data.max_test=2000
