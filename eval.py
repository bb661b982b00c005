"""Evaluate a checkpoint: ``python eval.py ckpt_path=... data=cifar10`` (see docs/evaluation.md)."""
from colorgan.eval import main

if __name__ == "__main__":
    main()
