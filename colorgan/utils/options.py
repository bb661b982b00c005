"""Every model/data/trainer option (and ``seed``, ``train``...) checked when the config is
composed: its type against its default's (the config composed again with the run's group choices
only, so no list to maintain), its range, its choices. A ``null`` default takes the type the
option has in another file of its group; ``null`` is accepted everywhere.
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

log = logging.getLogger("colorgan")
SECTIONS = ("model", "data", "trainer")
# integers that count or size something: at least 1
POSITIVE = {"batch_size", "image_size", "d_steps_per_g_step", "num_train", "ngf", "ndf",
            "n_layers", "widths", "hidden", "neighbours", "num_classes", "head_width", "grid",
            "sigma", "temperature", "ratio", "prior_images"}
# fractions: in [0, 1) (betas, decays, smoothing) or [0, 1] (shares of the data)
BELOW_ONE = {"betas", "decay", "label_smoothing", "momentum"}
AT_MOST_ONE = {"val_fraction", "test_fraction", "p", "dropout", "min_colorfulness"}
# Lightning's own options that take several types (its checks name them)
TRAINER_ANY = {"devices", "precision", "strategy", "accelerator", "max_time", "plugins",
               "profiler", "detect_anomaly", "benchmark", "sync_batchnorm", "deterministic",
               "fast_dev_run", "overfit_batches", "val_check_interval", "limit_train_batches",
               "limit_val_batches", "limit_test_batches", "limit_predict_batches"}


def choices() -> dict[str, tuple]:
    """Options with a fixed set of values, from the modules that define them."""
    from colorgan.color import CHROMA_CENTERS, COLOR_SPACES
    from colorgan.models.gan_module import PREV_SOURCES, REC_SPACES
    from colorgan.models.layers import NORMS
    from colorgan.models.losses import GAN_MODES, REC_LOSSES
    from colorgan.selection import RULES as SELECTION_RULES

    return {"model.gan_mode": GAN_MODES, "model.rec_loss": tuple(REC_LOSSES),
            "model.color_space": COLOR_SPACES, "model.rec_space": REC_SPACES,
            "model.chroma_center": CHROMA_CENTERS, "model.selection.rule": SELECTION_RULES,
            "model.temporal.prev_source": PREV_SOURCES,
            "model.netG.norm": NORMS, "model.netD.norm": NORMS}


def defaults_of(cfg: DictConfig) -> DictConfig | None:
    """``cfg`` composed again with its group choices only; None outside a Hydra run."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig

    from colorgan.utils.config import CONFIG_DIR

    hc = cfg.get("hydra") if "hydra" in cfg else (
        HydraConfig.get() if HydraConfig.initialized() else None)
    if hc is None:
        return None
    groups = set(hc.runtime.choices or {})
    keep = [o for o in hc.overrides.task
            if o.split("=", 1)[0].lstrip("+~").split("@", 1)[0] in groups]
    name = str(hc.job.config_name or "train")
    try:  # the run's own composition worked; if this one cannot, the run is not stopped by it
        if GlobalHydra.instance().is_initialized():
            return compose(config_name=name, overrides=keep)
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name=name, overrides=keep)
    except Exception as e:  # noqa: BLE001
        log.warning("options were not type-checked: their defaults could not be composed "
                    "again (%s: %s)", type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        return None


@functools.cache
def typed_elsewhere(section: str) -> dict[str, Any]:
    """Option -> a non-null default it has in another file of the group (``conf/data/*.yaml``):
    the type of an option whose default here is null (``data=folder``'s ``num_workers``)."""
    from colorgan.utils.config import CONFIG_DIR

    found: dict[str, Any] = {}
    for f in sorted((CONFIG_DIR / section).glob("*.yaml")):
        tree = OmegaConf.to_container(OmegaConf.load(f), resolve=False)
        for path, v in _walk(tree, section):
            if isinstance(v, (bool, int, float)):
                old = found.setdefault(path, v)
                if isinstance(old, bool) != isinstance(v, bool):
                    found[path] = None  # used as a flag here, a number there: no rule
                elif isinstance(v, float) and isinstance(old, int):
                    found[path] = v  # an integer in one file, a fraction in another: a number
    return {k: v for k, v in found.items() if v is not None}


def signature_kinds(tree: Any, path: str) -> dict[str, str]:
    """Options by what the class named by a ``_target_`` takes: ``float`` (``data.fps: 8`` is
    still a number) or ``any`` (``model.netG.pretrained: bool | str``)."""
    found: dict[str, str] = {}
    if not isinstance(tree, dict):
        return found
    target = str(tree.get("_target_", ""))
    if target.startswith(("colorgan.", "torch.optim.", "pytorch_lightning.")):
        import importlib
        import inspect

        module, _, name = target.rpartition(".")
        try:
            params = inspect.signature(getattr(importlib.import_module(module), name)).parameters
        except (ImportError, AttributeError, TypeError, ValueError):
            params = {}
        for k, p in params.items():
            kinds = str(p.annotation)
            several = ("str" in kinds or "Path" in kinds) and any(
                t in kinds for t in ("bool", "int", "float"))
            if several:
                found[f"{path}.{k}"] = "any"
            elif "float" in kinds:
                found[f"{path}.{k}"] = "float"
    for k, v in tree.items():
        found |= signature_kinds(v, f"{path}.{k}")
    return found


def _expected(default: Any, key: str, section: str) -> str | None:
    """What a value of this option must be, from its default's type; None: anything."""
    if section == "trainer" and key in TRAINER_ANY:
        return None
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    return None


def _fits(value: Any, expected: str) -> bool:
    if expected == "true or false":
        return isinstance(value, bool)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return expected == "a number" or isinstance(value, int)


def _range(value: float, default: float, key: str, section: str) -> str | None:
    """The range ``value`` breaks, or None."""
    if not math.isfinite(value):
        return "a finite number"
    if key in POSITIVE and value <= 0:
        return "a value > 0"
    if key in BELOW_ONE and not 0 <= value < 1:
        return "a value in [0, 1)"
    if key in AT_MOST_ONE and not 0 <= value <= 1:
        return "a value in [0, 1]"
    if section == "trainer":  # Lightning: -1 means "no limit" (max_epochs, max_steps, ...)
        return "a value >= -1" if default >= -1 and value < -1 else None
    return "a value >= 0" if default >= 0 and value < 0 else None


def _problem(path: str, value: Any, default: Any, section: str,
             known: dict[str, tuple]) -> str | None:
    key = path.rsplit(".", 1)[-1]
    if value is None:
        return None
    if path in known:
        return None if value in known[path] else \
            f"one of {', '.join(map(str, known[path]))}"
    if isinstance(default, dict):
        return None if isinstance(value, dict) else \
            f"a group of options ({path}.NAME=VALUE), not one value"
    if isinstance(default, list):
        if not isinstance(value, list):
            return f"a list like {default}"
        if default and all(_expected(d, key, section) for d in default):
            want = _expected(default[0], key, section)
            if len(value) != len(default) and key == "betas":
                return f"a list of {len(default)} numbers like {default}"
            for v in value:
                bad = None if _fits(v, want) else want
                bad = bad or _range(float(v), float(default[0]), key, section)
                if bad:
                    return f"a list of numbers like {default} ({bad})"
        return None
    want = _expected(default, key, section)
    if want is None:
        return None
    if not _fits(value, want):
        return want
    return None if isinstance(value, bool) else _range(float(value), float(default), key, section)


def _walk(default: Any, path: str):
    yield path, default
    if isinstance(default, dict):
        for k, v in default.items():
            if not str(k).startswith("_"):
                yield from _walk(v, f"{path}.{k}")


def check_options(cfg: DictConfig, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` naming the first model/data/trainer option whose value does not fit."""
    ref = defaults_of(cfg)
    if ref is None:
        return
    known = choices()
    top = {k: v for k, v in ref.items() if isinstance(v, (bool, int, float))}  # seed, train...
    for section in ("", *SECTIONS):
        if section and ref.get(section) is None:
            continue
        if section:
            tree = OmegaConf.to_container(ref[section], resolve=False)
            elsewhere, walk = typed_elsewhere(section), _walk(tree, section)
            kinds = signature_kinds(tree, section)
        else:
            elsewhere, walk, kinds = {}, iter(top.items()), {}
        for path, default in walk:
            shown_default = default
            if default is None:  # null here: typed by another file of the group, if any
                default = elsewhere.get(path)
            if default is None or (isinstance(default, str) and "${" in default):
                continue
            if path not in known and (kinds.get(path) == "any"  # several types: the class checks
                                      or not isinstance(default, (bool, int, float, list, dict))):
                continue
            if kinds.get(path) == "float" and isinstance(default, int) \
                    and not isinstance(default, bool):
                default = float(default)  # the class takes a float: 8 means 8.0
            value = OmegaConf.select(cfg, path, default="???", throw_on_resolution_failure=False)
            if value == "???":  # removed with ~, or not in this config
                continue
            if isinstance(value, DictConfig):  # a group: its own options are checked one by one
                value = {}
            elif OmegaConf.is_list(value):
                try:
                    value = OmegaConf.to_container(value, resolve=True)
                except OmegaConfBaseException:  # resolved (and reported) where it is used
                    continue
            wrong = _problem(path, value, default, section, known)
            if wrong is not None:
                shown = "null" if value is None else value
                was = "null" if shown_default is None else repr(shown_default)
                raise error(f"{path}={shown!r}: expects {wrong} (default: {was}).")


__all__ = ["check_options", "choices", "defaults_of"]
