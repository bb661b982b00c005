"""Datasets of colorgan, one LightningDataModule per ``conf/data/<name>.yaml``.

- ``synthetic``: :class:`colorgan.data.synthetic.SyntheticDataModule` (offline default)
- ``folder``, ``landscapes``: :mod:`colorgan.data.folder`
- ``cifar10``: :mod:`colorgan.data.cifar10`
- ``places365``, ``places365_2k``: :mod:`colorgan.data.places365`
- ``video_frames``: :mod:`colorgan.data.video_frames` (frame cache in :mod:`colorgan.data.frames`)

All build on :class:`colorgan.data.base.ColorDataModule`; the file-backed ones on
:class:`colorgan.data.files.FileDataModule` (splits in :mod:`colorgan.data.splits`, decoding
and bad-file checks in :mod:`colorgan.data.images`). Modules are imported by Hydra from the
config's ``_target_``, so importing this package stays cheap.
"""
