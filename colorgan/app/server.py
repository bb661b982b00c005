"""The FastAPI app behind ``colorgan serve``: one HTML page and a small JSON API (docs/app.md).

    GET  /                              the page (colorgan/app/static/index.html, hints.js)
    GET  /api/info                      limits, the checkpoint's temporal modes, slider ranges
    POST /api/colorize?name=...         the raw file as the body: a photo answers when done
                                        (200), a film at once (202) with a job to poll
    GET  /api/jobs/{id}[/{file}]        a job's state and progress; a result (color.png, ...)
    POST /api/jobs/{id}/hints           hint checkpoints: JSON colour points -> the PNG (hints.py)
    POST /api/jobs/{id}/reference       a reference photo: its palette steers later refreshes
    POST /api/film-reference?name=...   a film's first-shot reference (``reference_frame=ID``)

Every refusal is JSON ``{"error": message}`` with a 4xx/5xx code; the server keeps serving.
Uploads still arriving have their own slots and time limits (receive.py), apart from the
``max_active`` jobs being colorized.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from colorgan.app import film_reference
from colorgan.app.hints import NOT_HINTS, parse_request, read_body, recolorize, reference_of
from colorgan.app.jobs import Job, JobStore, one_line
from colorgan.app.receive import Arrivals, save_stream
from colorgan.app.uploads import Limits, Upload, UploadError, identify, too_large
from colorgan.app.work import CHROMA_RANGE, colorize_film, colorize_photo
from colorgan.colorize.colorizer import TEMPORAL_MODES, Colorizer
from colorgan.hints.user import MAX_POINTS

STATIC = Path(__file__).with_name("static")
PAGE = STATIC / "index.html"
log = logging.getLogger("colorgan.app")
MEDIA_TYPES = {".png": "image/png", ".mp4": "video/mp4"}


def allowed_modes(colorizer: Colorizer) -> list[str]:
    """The temporal modes this checkpoint's generator accepts (check_mode is the judge)."""
    modes = []
    for mode in TEMPORAL_MODES:
        with contextlib.suppress(ValueError):
            colorizer.check_mode(mode)
            modes.append(mode)
    return modes


def _check_chroma(chroma: float) -> None:
    lo, hi = CHROMA_RANGE
    if not lo <= chroma <= hi:
        raise UploadError(f"chroma={chroma}: the colour strength must be in [{lo:g}, {hi:g}].")


def _check_params(chroma: float, temporal: str, strength: float, modes: list[str]) -> None:
    _check_chroma(chroma)
    if temporal not in modes:
        raise UploadError(f"temporal={temporal!r}: this checkpoint accepts {modes}.")
    if not 0.0 <= strength < 1.0:
        raise UploadError(f"strength={strength}: the smoothing strength must be in [0, 1).")


def create_app(colorizer: Colorizer, limits: Limits | None = None, workdir: str | None = None,
               workers: int = 2, keep_seconds: float = 3600.0, max_active: int = 8,
               arriving: int = 32) -> FastAPI:
    """The app for one loaded model; uploads and results live in a temporary folder that is
    deleted when the app shuts down (or the process exits). ``max_active`` jobs may wait for or
    be in colorization, ``arriving`` uploads may be coming in besides."""
    limits = limits or Limits()
    store = JobStore(Path(tempfile.mkdtemp(prefix="colorgan-serve-", dir=workdir)), workers,
                     max_active=max_active, keep_seconds=keep_seconds)
    arrivals = Arrivals(arriving, min_idle=min(0.5, limits.upload_timeout / 4))
    modes = allowed_modes(colorizer)
    hints_ok = bool(getattr(colorizer, "supports_hints", False))
    refreshing = {"now": 0}  # hint refreshes queued or running (at most max_active)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        store.close()

    app = FastAPI(title="colorgan", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.store, app.state.limits = store, limits

    @app.exception_handler(UploadError)
    async def refused(request: Request, e: UploadError) -> JSONResponse:
        stalled = {"Connection": "close"} if e.status == 408 else None  # free the socket too
        return JSONResponse({"error": str(e)}, status_code=e.status, headers=stalled)

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, e: RequestValidationError) -> JSONResponse:
        said = []
        for err in e.errors():
            key = str(err.get("loc", ("?",))[-1])
            said.append(f"{key}={request.query_params.get(key, '')[:40]!r}: {err.get('msg')}")
        return JSONResponse({"error": "; ".join(said) + "."}, status_code=400)

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return PAGE.read_text(encoding="utf-8")

    @app.get("/static/hints.js")
    async def hints_script() -> FileResponse:
        return FileResponse(STATIC / "hints.js", media_type="text/javascript")

    @app.get("/api/info")
    async def info() -> dict:
        return {"modes": modes, "chroma_range": CHROMA_RANGE,
                "temperature": colorizer.netG.temperature if colorizer.supports_temperature
                else None, "max_upload_mb": limits.max_upload_mb,
                "max_film_seconds": limits.max_film_seconds, "max_pixels": limits.max_pixels,
                "hints": hints_ok, "max_hint_points": MAX_POINTS,
                "film_reference": True}

    def with_temperature(temperature: float | None) -> Colorizer:
        try:  # classification models: this request's annealed-mean temperature
            return colorizer.with_temperature(temperature)
        except ValueError as e:
            raise UploadError(str(e)) from None

    async def receive(request: Request, name: str) -> tuple[Job, Upload]:
        """The body saved into a new job's folder and identified; refused with a message."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:  # refuse before reading it
            raise too_large(name, limits)
        client = f"{request.client.host}:{request.client.port}" if request.client else "a client"
        job = None
        try:
            job = store.new(name)  # 503 while max_active jobs are working
            arrival = arrivals.enter(name, client)
            try:
                await save_stream(request.stream(), job.folder / "upload", arrival, limits,
                                  int(declared) if declared.isdigit() else None)
            finally:
                arrivals.leave(arrival)
            upload = await run_in_threadpool(identify, job.folder / "upload", name, limits)
            store.check_room(name)
            return job, upload
        except Exception as e:  # noqa: BLE001 - besides a refusal, the server's fault: one line
            if job is not None:
                store.remove(job)
            if isinstance(e, UploadError):
                raise
            log.error("upload %r from %s failed: %s", name, client, one_line(e))
            if isinstance(e, OSError):
                raise UploadError(f"{name}: the server could not store the upload "
                                  f"({e.strerror or e}); try again later.", 507) from None
            raise UploadError(f"{name}: the server failed on this upload ({type(e).__name__}); "
                              "its log says more. Try again later.", 500) from None

    @app.post("/api/colorize")
    async def colorize(request: Request, name: str = "upload", chroma: float = 1.0,
                       temporal: str = "", strength: float = 0.6,
                       temperature: float | None = None,
                       reference_frame: str = "") -> JSONResponse:
        name = Path(name).name[:200] or "upload"  # for messages only, never a path
        temporal = temporal or modes[0]
        _check_params(chroma, temporal, strength, modes)
        model = with_temperature(temperature)
        ref = _film_reference(reference_frame) if reference_frame else None
        folder = None
        try:
            job, upload = await receive(request, name)
            job.kind = upload.kind
            if ref is not None:
                try:
                    folder = await run_in_threadpool(_place, ref, job, upload)
                except Exception as e:  # noqa: BLE001 - besides a refusal, the server's fault
                    store.remove(job)
                    if isinstance(e, UploadError):
                        raise
                    log.error("reference %r for %r failed: %s", ref.name, name, one_line(e))
                    raise UploadError(f"{ref.name}: the server failed on this reference image "
                                      f"({type(e).__name__}); its log says more.", 500) from None
                job.reference = ref.name
        finally:
            if ref is not None:
                store.remove(ref)  # used once: by this film, or refused with it
        if upload.kind == "film":
            store.submit(job, partial(colorize_film, upload=upload, colorizer=model,
                                      limits=limits, temporal=temporal, strength=strength,
                                      reference_frames=folder))
            return JSONResponse(job.public(), status_code=202)
        await asyncio.wrap_future(store.submit(job, partial(
            colorize_photo, upload=upload, colorizer=model, chroma=chroma, keep=hints_ok)))
        if job.state == "error":
            store.remove(job)
            return JSONResponse({"error": job.message}, status_code=422)
        return JSONResponse(job.public())

    def _film_reference(ref_id: str) -> Job:
        """An uploaded reference image for a film, waiting for its film (checked first);
        the caller removes it."""
        ref = store.take(ref_id, "film-reference")  # one film only, even two at once
        if ref is None:
            raise UploadError(f"reference_frame={ref_id[:40]!r}: unknown or expired reference "
                              "image; upload it again.", 404)
        return ref

    def _place(ref: Job, job: Job, upload: Upload) -> Path:
        if upload.kind != "film":
            raise UploadError(f"{job.name}: is a photo; a reference image for the first shot "
                              "goes with a film. Upload the photo without it.")
        rgb = film_reference.check_reference(ref.upload, ref.name)
        return film_reference.place_reference(rgb, ref.name, upload.width, upload.height,
                                              job.folder)

    @app.post("/api/film-reference")
    async def film_reference_upload(request: Request, name: str = "reference") -> dict:
        name = Path(name).name[:200] or "reference"
        ref, upload = await receive(request, name)  # the upload limits, its own folder
        try:
            rgb = await run_in_threadpool(film_reference.check_reference, upload, name)
        except UploadError:
            store.remove(ref)
            raise
        ref.kind, ref.state, ref.upload = "film-reference", "done", upload
        ref.height, ref.width = rgb.shape[-2:]
        ref.finished = time.time()  # expires like a finished job if no film comes
        return ref.public()

    def _job(job_id: str):
        job = store.get(job_id)
        if job is None:
            raise UploadError(f"job {job_id[:40]}: unknown or expired; upload the file again.", 404)
        return job

    @app.get("/api/jobs/{job_id}")
    async def job_state(job_id: str) -> dict:
        return _job(job_id).public()

    @app.get("/api/jobs/{job_id}/{file}")
    async def job_file(job_id: str, file: str, download: bool = False) -> FileResponse:
        job = _job(job_id)
        if file not in job.files.values() or job.state != "done":
            raise UploadError(f"{file[:60]}: no such result for this job.", 404)
        stem = Path(job.name).stem or "colorgan"
        return FileResponse(job.folder / file, media_type=MEDIA_TYPES[Path(file).suffix],
                            filename=f"{stem}_{file}" if download else None,
                            content_disposition_type="attachment" if download else "inline")

    def _photo_job(job_id: str) -> Job:
        """A colorized photo of this server, for colour points (hint checkpoints only)."""
        if not hints_ok:
            raise UploadError(NOT_HINTS)
        job = _job(job_id)
        if job.kind != "photo" or job.state != "done":
            raise UploadError(f"job {job_id[:40]}: colour points need a colorized photo; this "
                              f"job is a {job.kind or 'upload'} ({job.state}).", 409)
        return job

    @app.post("/api/jobs/{job_id}/hints")
    async def hints(job_id: str, request: Request, chroma: float = 1.0, reference: bool = False,
                    temperature: float | None = None) -> Response:
        job = _photo_job(job_id)
        _check_chroma(chroma)
        model = with_temperature(temperature)
        points = parse_request(await read_body(request, limits, "hints"), job.width, job.height)
        if reference and job.palette is None:
            raise UploadError("reference=true: no reference photo was given for this photo; "
                              "upload one first.", 409)
        if refreshing["now"] >= store.max_active:
            raise UploadError(f"{job.name}: the server is busy with {store.max_active} other "
                              "refreshes; try again in a moment.", 503)
        refreshing["now"] += 1
        try:
            png = await asyncio.wrap_future(store.pool.submit(
                recolorize, job, model, points, job.palette if reference else None, chroma))
        except UploadError:
            raise
        except ValueError as e:  # the colorizer refused these hints: say why
            raise UploadError(f"{job.name}: {e}", 422) from None
        except Exception as e:  # noqa: BLE001 - the server's fault: one log line, a message
            log.error("hints for job %s (%r) failed: %s", job.id, job.name, one_line(e))
            raise UploadError(f"{job.name}: recolorizing failed ({type(e).__name__}); the "
                              "server log says more.", 500) from None
        finally:
            refreshing["now"] -= 1
        job.finished = time.time()  # in use: it expires keep_seconds after the last change
        return Response(png, media_type="image/png")

    @app.post("/api/jobs/{job_id}/reference")
    async def set_reference(job_id: str, request: Request, name: str = "reference") -> dict:
        job = _photo_job(job_id)
        name = Path(name).name[:200] or "reference"
        ref, upload = await receive(request, name)  # the upload limits, its own folder
        try:
            palette = await run_in_threadpool(reference_of, upload, name)
        finally:
            store.remove(ref)
        job.palette, job.reference = palette, name
        return job.public()

    return app


__all__ = ["allowed_modes", "create_app"]
