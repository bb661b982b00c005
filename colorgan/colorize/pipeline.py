"""The bounded-queue pipeline lives in :mod:`colorgan.utils.pipeline` (scenes.py uses it too,
and imports point down); this name stays for the colorize code that imports it from here."""
from colorgan.utils.pipeline import POLL, Pipeline, Prefetch, Sink, Stopped

__all__ = ["POLL", "Pipeline", "Prefetch", "Sink", "Stopped"]
