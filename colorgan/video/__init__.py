"""Video I/O with PyAV: streaming decode with timestamps, encode, audio/subtitle copy.

The film *application* (the colorize pipeline, temporal modes) lives in :mod:`colorgan.colorize`.
"""
