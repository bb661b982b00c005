"""Datasets of colorgan, one LightningDataModule per ``conf/data/<name>.yaml`` (imported by Hydra
from the config's ``_target_``), all on :class:`colorgan.data.base.ColorDataModule`.
"""
