"""The web page: ``colorgan serve --ckpt CKPT`` (needs the ``app`` extra: FastAPI + uvicorn).

server.py (routes, the page), uploads.py (what an upload is, limits), jobs.py (one folder per
upload, workers, clean-up), work.py (photo and film colorization), cli.py (the command).
Importing this package does not import FastAPI; ``colorgan.app.server`` does.
"""
