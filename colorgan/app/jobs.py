"""Jobs of the web page: one private folder per upload, a worker pool, expiry and clean-up.

Each upload gets its own job (a random id, its own folder under the server's temporary folder),
so concurrent requests never share a file name. Finished jobs expire after ``keep_seconds``;
the whole temporary folder is removed when the server stops.
"""
from __future__ import annotations

import atexit
import logging
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorgan.app.uploads import UploadError

log = logging.getLogger("colorgan.app")


def one_line(e: BaseException) -> str:
    """An unexpected error as one log line: type, message and the innermost frame."""
    frames = traceback.extract_tb(e.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" \
        if frames else ""
    return f"{type(e).__name__}: {str(e)[:300]}{where}"


@dataclass
class Job:
    id: str
    folder: Path
    name: str                     # the uploaded file's name, for messages only
    kind: str = ""                # "photo" or "film" once identified
    state: str = "receiving"      # receiving -> queued -> running -> done | error
    done: int = 0                 # films: frames colorized so far
    total: int = 0                # films: frames expected (0 when unknown)
    message: str = ""
    files: dict[str, str] = field(default_factory=dict)  # role -> file name in ``folder``
    width: int = 0
    height: int = 0
    finished: float | None = None

    notice: str = ""              # what the user must know about the result (a film cut short)
    reference: str = ""           # hint checkpoints: the reference photo's name ...
    palette: Any = None           # ... and its palette (1, D), the global hint (app/hints.py)
    upload: Any = None            # a film's reference image, waiting for its film (Upload)

    def public(self) -> dict:
        """What the page sees: state, progress, message and the URL of each result file."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "state": self.state, "done": self.done,
                "total": self.total, "message": self.message, "notice": self.notice,
                "width": self.width, "height": self.height, "reference": self.reference,
                "files": {role: f"/api/jobs/{self.id}/{f}" for role, f in self.files.items()}}


class JobStore:
    """The jobs of one server: created, run on ``workers`` threads, expired, cleaned up."""

    def __init__(self, root: Path, workers: int = 2, max_active: int = 8,
                 keep_seconds: float = 3600.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_active, self.keep_seconds = max_active, keep_seconds
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="colorize")
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)

    def check_room(self, name: str) -> None:
        """Refuse (503) while ``max_active`` jobs are queued or being colorized (uploads still
        arriving have their own slots)."""
        with self.lock:
            if sum(j.state in ("queued", "running") for j in self.jobs.values()) >= self.max_active:
                raise UploadError(f"{name}: the server is busy with {self.max_active} other "
                                  "uploads; try again in a minute.", 503)

    def new(self, name: str) -> Job:
        """A job with its own empty folder; refused while ``max_active`` jobs are working."""
        self.expire()
        self.check_room(name)
        with self.lock:
            job = Job(uuid.uuid4().hex, Path(), name)
            job.folder = self.root / job.id
            job.folder.mkdir()
            self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def take(self, job_id: str, kind: str) -> Job | None:
        """The job of ``kind``, forgotten at once so that only one request gets it (its folder
        stays until ``remove``); None when unknown, expired or already taken."""
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None or job.kind != kind:
                return None
            return self.jobs.pop(job_id)

    def remove(self, job: Job) -> None:
        with self.lock:
            self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)

    def expire(self) -> None:
        """Forget finished jobs older than ``keep_seconds`` and delete their files."""
        now = time.time()
        with self.lock:
            old = [j for j in self.jobs.values()
                   if j.finished is not None and now - j.finished > self.keep_seconds]
        for job in old:
            self.remove(job)

    def submit(self, job: Job, work: Callable[[Job], None]) -> Future:
        """Run ``work(job)`` on a worker; any error ends the job with a message, never the server."""
        job.state = "queued"

        def run() -> None:
            job.state = "running"
            try:
                work(job)
                job.state = "done"
            except (UploadError, ValueError, OSError) as e:  # the file's fault: say so
                job.state, job.message = "error", str(e)
            except Exception as e:  # noqa: BLE001 - a bug must not take the server down
                log.error("job %s (%r) failed: %s", job.id, job.name, one_line(e))
                log.debug("job %s failed", job.id, exc_info=True)  # the whole trace, if asked
                job.state = "error"
                job.message = f"{job.name}: colorization failed ({type(e).__name__}: {e})."
            finally:
                job.finished = time.time()

        return self.pool.submit(run)

    def close(self) -> None:
        """Stop taking work and delete every job's files."""
        self.pool.shutdown(wait=False, cancel_futures=True)
        with self.lock:
            self.jobs.clear()
        shutil.rmtree(self.root, ignore_errors=True)


__all__ = ["Job", "JobStore", "one_line"]
