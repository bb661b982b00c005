"""The user-facing applications: colorize photos, folders and films with a trained checkpoint.

- :mod:`colorgan.colorize.colorizer`: checkpoint -> :class:`Colorizer` (pre/post-processing)
- :mod:`colorgan.colorize.photos`: one photo, or a folder tree mirrored
- :mod:`colorgan.colorize.films`: the streaming decode -> model -> encode pipeline
- :mod:`colorgan.colorize.temporal`: temporal modes (independent, smooth, dependent)
- :mod:`colorgan.colorize.film_eval`: ``colorgan eval-video`` metrics (PSNR, CDC, flicker)
- :mod:`colorgan.colorize.cli`: ``colorgan colorize``, ``scenes``, ``eval-video``
"""
