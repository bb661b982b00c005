"""The evaluation protocol (colorgan/protocol.py, docs/evaluation.md "Protocol"): val chooses,
test is reported; a dataset without a test split says so; eval never swaps one split for
another in silence; the model card carries the test numbers; classes without labels warn."""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import hydra
import pytest
import torch
from conftest import TINY, make_cfg
from PIL import Image

from colorgan.eval import evaluate
from colorgan.info import info_main
from colorgan.model_card import NO_TEST_SPLIT
from colorgan.train import train

NET = [o for o in TINY if not o.startswith("data")]  # unet_32, 1 epoch, no progress bar


def photos(folder: Path, n: int, classes: tuple[str, ...] = ("",)) -> Path:
    """``n`` small colour photos (noise), spread over ``classes`` sub-folders."""
    g = torch.Generator().manual_seed(3)
    for i in range(n):
        sub = folder / classes[i % len(classes)]
        sub.mkdir(parents=True, exist_ok=True)
        pixels = (torch.rand(36, 36, 3, generator=g) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(sub / f"p{i:02d}.png")
    return folder


def folder(root: Path, *extra: str) -> list[str]:
    return [*NET, "data=folder", f"data.root={root}", "data.image_size=32", "data.batch_size=4",
            "data.num_workers=0", "data.check_files=false", "callbacks.sample_grid=null", *extra]


def eval_cfg(tmp: Path, ckpt: str, *extra: str, data: str = "folder"):
    return make_cfg(tmp, [f"ckpt_path={ckpt}", f"data={data}", "data.num_workers=0",
                          "data.check_files=false", "trainer.enable_progress_bar=false",
                          "num_samples=2", *extra], config_name="eval.yaml")


def test_folder_run_reports_test_and_eval_keeps_its_split(tmp_path, capsys, caplog):
    root = photos(tmp_path / "holiday", 16)
    cfg = make_cfg(tmp_path / "t", folder(root, "data.val_fraction=0.25", "data.test_fraction=0.25",
                                          "callbacks=[default,early_stopping]"))
    metrics, _ = train(cfg)
    run = Path(cfg.paths.output_dir)
    out = capsys.readouterr().out
    assert "test split reported, val beside it" in out
    assert "test (4 files): reported, never used to choose" in out
    assert "val (4 files): chose the checkpoint, early stopping; in-sample" in out
    saved = json.loads((run / "metrics.json").read_text())
    p = saved["protocol"]
    assert (p["checkpoint"], p["early_stopping"], p["chroma_calibration"], p["reported"]) == \
        ("val", "val", None, "test")
    assert p["splits"] == {"train": 8, "val": 4, "test": 4} and p["split_seed"] == 0
    assert saved["split"] == "test" and saved["model"]["psnr"] == pytest.approx(metrics["test/psnr"])

    # the chosen checkpoint's card holds both, each with its split: `colorgan info` prints them
    ckpt = saved["evaluated_checkpoint"]
    card = torch.load(ckpt, weights_only=True)["model_card"]["metrics"]
    assert card["test"]["split"] == "test" and card["test"]["images"] == 4
    assert card["test"]["values"]["psnr"] == pytest.approx(metrics["test/psnr"])
    assert card["val"]["values"]["psnr"] == pytest.approx(metrics["val/psnr"])
    assert info_main([ckpt]) == 0
    assert "test split (reported, never used to choose): PSNR" in capsys.readouterr().out

    # eval with the training split: only its 4 test files, the very numbers train reported
    split = ["data.val_fraction=0.25", "data.test_fraction=0.25", f"data.root={root}"]
    same, _ = evaluate(eval_cfg(tmp_path / "e1", ckpt, *split))
    assert same["split"] == "test" and same["num_images"] == 4 and same["protocol_warnings"] == []
    assert same["metrics"]["test/psnr"] == pytest.approx(metrics["test/psnr"], rel=1e-5)

    # another split seed: other files are "test", some of them trained on: said
    with caplog.at_level(logging.WARNING, logger="colorgan"):
        other, _ = evaluate(eval_cfg(tmp_path / "e2", ckpt, *split, "data.split_seed=1"))
    (warn,) = other["protocol_warnings"]
    assert "data.split_seed=0 (given 1)" in warn and warn in caplog.text

    # the training folder with no split: scored whole, its training photos included: said
    whole, _ = evaluate(eval_cfg(tmp_path / "e3", ckpt, f"data.root={root}"))
    assert whole["split"] == "all" and whole["num_images"] == 16
    assert whole["scope"] == f"all 16 images of {root}, no split"
    (warn,) = whole["protocol_warnings"]
    assert "training photos included" in warn and "data.test_fraction=0.25" in warn
    assert warn in (tmp_path / "e3" / "run" / "metrics.md").read_text()


def test_data_without_a_test_split_says_val_is_in_sample(tmp_path, capsys):
    root = photos(tmp_path / "mine", 10)
    cfg = make_cfg(tmp_path / "t", folder(root, "data.val_fraction=0.3", "model.chroma_target=0.9",
                                          "callbacks.model_checkpoint=null"))
    metrics, _ = train(cfg)
    assert not any(k.startswith("test/") for k in metrics)
    out = capsys.readouterr().out
    assert "NO TEST SPLIT in this data; val reported, in-sample" in out
    assert "the last weights (last.ckpt; no checkpoint was chosen)" in out
    assert "val (3 files): chose the chroma calibration; in-sample" in out
    run = Path(cfg.paths.output_dir)
    saved = json.loads((run / "metrics.json").read_text())
    p = saved["protocol"]
    assert (p["checkpoint"], p["chroma_calibration"], p["reported"], p["in_sample"],
            p["checkpoint_used"]) == (None, "val", "val", True, "last")
    assert saved["split"] == "val" and saved["test"] is None
    assert saved["model"] == saved["val"]["model"]
    assert saved["evaluated_checkpoint"] == saved["last_checkpoint"]
    card = torch.load(saved["last_checkpoint"], weights_only=True)["model_card"]
    assert card["metrics"]["test"] is None and card["metrics"]["test_note"] == NO_TEST_SPLIT
    assert card["data"]["splits"]["has_test"] is False
    text = (run / "MODEL_CARD.md").read_text()
    assert "test none" in text and NO_TEST_SPLIT in text

    # split=test on data without one: an error naming what to do, not val in its place
    land = photos(tmp_path / "land", 6, classes=("a", "b"))
    with pytest.raises(ValueError, match="LandscapesDataModule has no test split .* split=val"):
        evaluate(eval_cfg(tmp_path / "e", saved["last_checkpoint"], f"data.root={land}",
                          "data.sizes=null", "data.fractions=[0.7,0.3,0.0]", data="landscapes"))
    assert not (tmp_path / "e" / "run" / "metrics.json").exists()


def test_test_loader_never_falls_back_to_val(tmp_path):
    root = photos(tmp_path / "p", 6)
    dm = hydra.utils.instantiate(make_cfg(tmp_path, ["data=folder", f"data.root={root}",
                                                     "data.image_size=32"]).data)
    dm.setup("fit")
    assert dm.data_test is None and len(dm.data_val) == 1
    with pytest.raises(ValueError, match=r"FolderDataModule has no test split \(data.test_fraction"
                                         r"=0.*evaluate with split=val"):
        dm.test_dataloader()


def test_folder_classes_come_from_first_level_folders_even_nested(tmp_path):
    root = tmp_path / "scenes"
    photos(root / "forest" / "2019", 4)
    photos(root / "sea", 4)
    dm = hydra.utils.instantiate(make_cfg(tmp_path, ["data=folder", f"data.root={root}",
                                                     "data.class_labels=true"]).data)
    dm.setup("fit")
    assert dm.classes == ["forest", "sea"]
    assert dm.label_of(root / "forest" / "2019" / "p00.png") == 0
    assert dm.label_of(root / "sea" / "p01.png") == 1
    assert dm.label_of(root / "p00.png") is None  # at the top: no class


# ------------------------------------------------------------------------------ Places365
CATEGORIES = ("/a/abbey", "/b/beach", "/f/forest")


def places_root(tmp: Path, monkeypatch) -> Path:
    """A Places365 layout as torchvision reads it: categories, two file lists, small images.
    The devkit's md5 sums are those of the real files, so the check is bypassed here."""
    from torchvision.datasets import Places365

    monkeypatch.setattr(Places365, "_check_integrity", lambda self, *a: True)
    (tmp / "categories_places365.txt").parent.mkdir(parents=True, exist_ok=True)
    (tmp / "categories_places365.txt").write_text(
        "".join(f"{c} {i}\n" for i, c in enumerate(CATEGORIES)))
    photos(tmp / "val_256", 9)
    photos(tmp / "test_256", 6)
    (tmp / "places365_val.txt").write_text("".join(f"p{i:02d}.png {i % 3}\n" for i in range(9)))
    (tmp / "places365_test.txt").write_text("".join(f"p{i:02d}.png\n" for i in range(6)))
    return tmp


def test_places365_labels_come_from_its_file_list(tmp_path, monkeypatch):
    root = places_root(tmp_path / "places", monkeypatch)
    dm = hydra.utils.instantiate(make_cfg(tmp_path, [
        "data=places365", f"data.root={root}", "data.train_split=val", "data.test_split=test",
        "data.val_fraction=0.3", "data.image_size=32"]).data)
    dm.setup("fit")
    assert dm.classes == list(CATEGORIES)
    labels = [dm.data_train[i]["label"] for i in range(len(dm.data_train))]
    files = dm.data_train.files
    assert labels == [int(f.stem[1:]) % 3 for f in files]  # as places365_val.txt says
    assert dm.data_test.labels == [None] * 6  # the test split has no labels


def test_class_guidance_on_unlabelled_files_warns_and_is_off(tmp_path, monkeypatch):
    root = places_root(tmp_path / "places", monkeypatch)
    cfg = make_cfg(tmp_path / "t", [*NET, "data=places365", f"data.root={root}",
                                    "data.train_split=test", "data.test_split=val",
                                    "data.val_fraction=0.34", "data.image_size=32",
                                    "data.batch_size=2", "data.num_workers=0",
                                    "model.class_guidance.enabled=true",
                                    "callbacks.sample_grid=null"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, objects = train(cfg)
    said = " ".join(str(w.message) for w in caught)
    assert "names 3 classes, but none of its 4 training files has a class label" in said
    assert "class guidance is off for this run" in said
    assert objects["model"].guidance is None and objects["datamodule"].classes is None
