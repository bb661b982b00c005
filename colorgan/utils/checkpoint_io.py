"""Checkpoints that are whole or absent: Lightning's ``CheckpointIO`` writing to a temporary
sibling, renamed onto the target only once complete (``conf/trainer/default.yaml``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from colorgan.utils.atomic import atomic_output


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` into ``.NAME.partial-PID.ckpt``, then rename; on any error, no file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path,
                        storage_options: Any | None = None) -> None:
        if storage_options is not None or "://" in str(path):  # remote storage: Lightning's way
            return super().save_checkpoint(checkpoint, path, storage_options)
        with atomic_output(Path(path), overwrite=True) as tmp:  # creates the folder
            torch.save(checkpoint, tmp)
        return None


__all__ = ["AtomicCheckpointIO"]
