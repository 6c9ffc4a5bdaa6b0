"""The server's analyses: a bounded queue of jobs run by a few worker threads, each job's
files in a folder of its own, removed once its result has been kept long enough."""
import contextlib
import dataclasses
import math
import secrets
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from deepfake_dvc.log import log

STEPS = ("waiting", "decoding", "finding faces", "scoring", "drawing pictures", "done")
RETRY_FIRST = 10  # seconds a refused client is asked to wait before any analysis has finished


class Busy(Exception):
    """The queue is full: retry_after, the seconds to wait before trying again."""

    def __init__(self, retry_after):
        super().__init__(f"the server is busy: retry after {retry_after} s")
        self.retry_after = retry_after


@dataclasses.dataclass
class Job:
    """One uploaded video's analysis: state is queued, running, done or failed; step one of
    STEPS; result the JSON record (as check --json prints it); error why it failed."""
    id: str
    name: str
    folder: object  # pathlib.Path: the job's own folder, holding the upload and pictures
    state: str = "queued"
    step: str = "waiting"
    result: dict | None = None
    error: str | None = None
    finished: float | None = None  # time.monotonic() when it ended

    def as_dict(self, ahead=0):
        """What GET /api/jobs/{id} answers; ahead: the jobs queued before it."""
        record = dict(id=self.id, video=self.name, state=self.state,
                      progress=dict(step=self.step, done=STEPS.index(self.step),
                                    steps=len(STEPS) - 1),
                      result=self.result, error=self.error)
        if self.state == "queued":
            record["ahead"] = ahead
        return record


class Jobs:
    """At most workers analyses at once and queue more waiting (uploads being received
    count); beyond, Busy. analyse(job, step) runs in a worker thread and returns the
    result record; a job's folder goes keep_seconds after it ended."""

    def __init__(self, work, analyse, workers, queue, keep_seconds):
        self.work, self.analyse = work, analyse
        self.workers, self.limit, self.keep = workers, workers + queue, keep_seconds
        self.jobs, self.order, self.taken, self.durations = {}, [], 0, []
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="analysis")

    def reserve(self):
        """A place in the queue for an upload about to be received; Busy when none is
        left."""
        with self.lock:
            if self.taken >= self.limit:
                raise Busy(self.retry_after())
            self.taken += 1

    def release(self):
        """Give back a place reserved for an upload that was refused."""
        with self.lock:
            self.taken -= 1

    def new(self, name):
        """A job (reserve first) with a fresh unguessable id and its own folder."""
        job_id = secrets.token_urlsafe(12)
        folder = self.work / job_id
        folder.mkdir(mode=0o700)
        return Job(job_id, name, folder)

    def start(self, job):
        """Queue a job whose upload is in its folder."""
        with self.lock:
            self.jobs[job.id] = job
            self.order.append(job.id)
        self.pool.submit(self.run, job)

    def run(self, job):
        """Run one job in a worker thread: its result or why it failed, never an exception."""
        began = time.monotonic()
        job.state = "running"

        def step(name):
            job.step = name
        try:
            job.result = self.analyse(job, step)
            job.error = job.result.get("error")
            job.state = "failed" if job.error else "done"
        except Exception as e:  # noqa: BLE001 - one job's fault must not stop the server
            log.exception(f"job {job.id} ({job.name}): {e}")
            job.state, job.error = "failed", f"the server failed on this video: {e}"
        finally:
            job.step, job.finished = "done", time.monotonic()
            with self.lock:
                self.taken -= 1
                self.durations = (self.durations + [job.finished - began])[-20:]

    def get(self, job_id):
        """The job with this id, or None (unknown, or expired)."""
        return self.jobs.get(job_id)

    def ahead(self, job):
        """How many queued jobs were queued before this one."""
        with self.lock:
            queued = [i for i in self.order if self.jobs[i].state == "queued"]
        return queued.index(job.id) if job.id in queued else 0

    def counts(self):
        """{running, queued, limit}: for /health."""
        with self.lock:
            states = [job.state for job in self.jobs.values()]
        return dict(running=states.count("running"), queued=states.count("queued"),
                    limit=self.limit)

    def retry_after(self):
        """Seconds until a place is likely free: a recent analysis's mean duration times the
        queue's depth per worker, rounded up (RETRY_FIRST before any has finished)."""
        if not self.durations:
            return RETRY_FIRST
        mean = sum(self.durations) / len(self.durations)
        return max(1, math.ceil(mean * self.taken / self.workers))

    def expire(self, now=None):
        """Forget the jobs that ended keep seconds ago or more and remove their folders."""
        now = time.monotonic() if now is None else now
        with self.lock:
            old = [job for job in self.jobs.values()
                   if job.finished is not None and now - job.finished >= self.keep]
            for job in old:
                del self.jobs[job.id]
                self.order.remove(job.id)
        for job in old:
            shutil.rmtree(job.folder, ignore_errors=True)
        return len(old)

    def close(self):
        """Drop the queued jobs, wait for the running ones, remove every job's folder."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        for job in list(self.jobs.values()):
            with contextlib.suppress(OSError):
                shutil.rmtree(job.folder)
