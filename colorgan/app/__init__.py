"""The web page: ``colorgan serve --ckpt CKPT`` (needs the ``app`` extra: FastAPI + uvicorn).

server.py (routes, the page), uploads.py (what an upload is, limits), receive.py (reading a
body within size and time limits), protocol.py (uvicorn's h11 with a deadline for headers),
jobs.py (one folder per upload, workers, clean-up), work.py (photo and film colorization),
cli.py (the command).
Importing this package does not import FastAPI; ``colorgan.app.server`` does.
"""
