"""Config groups compose and run: every callback file, the optional ones, the debug modes."""
from __future__ import annotations

from pathlib import Path

import pytest
from pytorch_lightning.callbacks import EarlyStopping, RichProgressBar

from colorgan.train import train
from colorgan.utils.config import CONFIG_DIR, instantiate_callbacks
from tests.conftest import TINY, make_cfg

CALLBACK_FILES = sorted(p.stem for p in (CONFIG_DIR / "callbacks").glob("*.yaml"))


def test_default_callbacks_are_composed_from_one_file_each(tmp_path):
    cfg = make_cfg(tmp_path)
    assert set(cfg.callbacks) == {"model_checkpoint", "last_checkpoint", "sample_grid",
                                  "model_summary"}
    assert {"early_stopping", "rich_progress_bar"} <= set(CALLBACK_FILES)
    for name in set(CALLBACK_FILES) - {"default", "none"}:  # a file holds its own callback
        assert list(make_cfg(tmp_path, [f"callbacks={name}"]).callbacks) == [name]
    assert not make_cfg(tmp_path, ["callbacks=none"]).get("callbacks")


def test_optional_callbacks_add_to_the_default(tmp_path):
    cfg = make_cfg(tmp_path, ["callbacks=[default,early_stopping,rich_progress_bar]"])
    kinds = {type(c) for c in instantiate_callbacks(cfg.callbacks)}
    assert {EarlyStopping, RichProgressBar} <= kinds
    cfg = make_cfg(tmp_path, [*TINY, "callbacks=[default,early_stopping]", "trainer.max_epochs=4",
                              "callbacks.early_stopping.patience=0",
                              "callbacks.early_stopping.monitor=val/colorfulness_gt"])
    _, obj = train(cfg)  # the truth's colorfulness never improves: stops after 2 epochs
    assert obj["trainer"].current_epoch == 2


@pytest.mark.parametrize("mode", ["limit", "profiler"])
def test_debug_modes_run(tmp_path, mode):
    cfg = make_cfg(tmp_path, [*TINY, f"debug={mode}", "trainer.max_epochs=1",
                              "data.num_train=64"])  # 16 batches
    assert cfg.task_name == "debug"
    _, obj = train(cfg)
    assert obj["trainer"].global_step > 0
    if mode == "limit":
        assert obj["trainer"].num_training_batches == 4
    else:
        assert list((Path(cfg.paths.output_dir) / "profiler").glob("*profile*.txt"))
