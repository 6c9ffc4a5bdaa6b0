"""deepfake-check serve: a page where people drop videos and see each verdict with what it is
worth, and the JSON API beside it, both from one model loaded once.

The page (/) takes one or more videos and shows, for each, its progress, then the model
card's warning first and in full, the verdict (FAKE, REAL, UNCERTAIN, UNKNOWN) with its
calibrated P(fake), the annotated frame, each person's timeline and the Grad-CAM picture,
and a link to the JSON. The API: POST /api/check (a multipart upload, field video) answers
a job id; GET /api/jobs/{id} its state, progress and result (the record `deepfake-check
--json` prints); GET /api/model what the model is worth; GET /health; OpenAPI docs at /docs.

Safe by default: bound to 127.0.0.1; on any other address, every API call needs the token
(--token or the DEEPFAKE_CHECK_TOKEN environment variable) as `Authorization: Bearer TOKEN`.
Uploads are limited in size (--max-mb) and duration (--max-seconds), taken only when their
content is a video the pipeline reads, stored under generated names in a private temporary
folder, and removed with their pictures --keep-minutes after their result. At most --jobs
videos are analysed at once and --queue wait; past that, 429 with Retry-After. Ctrl-C stops
the server and removes its folder. Exit status 2 before the model loads when an argument,
the model's files or the port cannot be used.
"""
import argparse
import asyncio
import contextlib
import errno
import ipaddress
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

from deepfake_dvc.cli import add_model_argument, add_verbosity
from deepfake_dvc.errors import ConfigError, MachineError
from deepfake_dvc.files import read_json
from deepfake_dvc.jobs import Busy, Jobs
from deepfake_dvc.log import log, set_log_level
from deepfake_dvc.params import between, integer, number
from deepfake_dvc.paths import model_files
from deepfake_dvc.uploads import Refused, check_video, receive, too_large
from deepfake_dvc.video_files import VIDEO_EXTS

TOKEN_ENV = "DEEPFAKE_CHECK_TOKEN"
STATIC = Path(__file__).with_name("static")
UPLOAD = "upload.video"     # a job's video, in its folder
PICTURES = ("verdict.jpg", "timeline.png", "gradcam.png")  # write_pictures' kinds
MAX_MB = 300                # a 2-minute 1080p clip at 20 Mbit/s, a phone's rate, is 300 MB
MULTIPART_SLACK = 2**16     # bytes a multipart request holds beyond its file
WAIT_MAX, WAIT_STEP = 60, 0.05  # seconds: GET /api/jobs/{id}?wait=, and how often it looks
MACHINE_FAULT = ("the server could not store or read this upload: {why} (a fault of the "
                 "server's machine, not of the video; try again later)")


def checked(rule, option):
    """An argparse type from a params rule (convert, valid, hint): the value, or an error
    naming option and what to use."""
    convert, valid, hint = rule

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not valid(value):
            raise argparse.ArgumentTypeError(f"{option} {text!r}: {hint}")
        return value
    return parse


def parse_args(argv, prog):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_argument(parser)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; "
                             "any other needs --token)")
    parser.add_argument("--port", type=checked(between(integer, 1, 65535), "--port"),
                        default=8000, help="TCP port (default 8000)")
    parser.add_argument("--token", default=os.environ.get(TOKEN_ENV) or None,
                        help=f"the token every API call must bring as 'Authorization: "
                             f"Bearer TOKEN' (default: ${TOKEN_ENV}); required unless the "
                             f"host is a loopback address")
    parser.add_argument("--max-mb", type=checked(between(number, 0, closed="neither"),
                                                 "--max-mb"),
                        default=MAX_MB, help=f"largest upload in MB (default {MAX_MB}: a "
                                             f"2-minute 1080p clip)")
    parser.add_argument("--max-seconds", type=checked(between(number, 0, closed="neither"),
                                                      "--max-seconds"),
                        default=600, help="longest video in seconds (default 600)")
    parser.add_argument("--jobs", type=checked(between(integer, 1), "--jobs"), default=1,
                        help="videos analysed at once (default 1: on a CPU the model uses "
                             "every core already)")
    parser.add_argument("--queue", type=checked(between(integer, 0), "--queue"), default=8,
                        help="uploads waiting beyond those (default 8); past that, 429")
    parser.add_argument("--keep-minutes", type=checked(between(number, 0, closed="neither"),
                                                       "--keep-minutes"),
                        default=30, help="how long a result, its pictures and its job are "
                                         "kept once analysed (default 30)")
    add_verbosity(parser)
    return parser.parse_args(argv)


def is_local(host):
    """Whether host is this machine only: localhost or a loopback address."""
    if host == "localhost":
        return True
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).is_loopback
    return False


def usable_address(host, port):
    """ConfigError naming --host or --port when the server could not listen there."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError(f"--host {host!r}: not an address of this machine ({e.strerror})") \
            from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            named = f"--port {port}" if e.errno == errno.EADDRINUSE else f"--host {host!r}"
            raise ConfigError(f"{named}: cannot listen on {host}:{port} ({e.strerror})") \
                from None


def check_args(args):
    """ConfigError before the model loads: a non-local host without a token, an address the
    server cannot listen on, a model without its files."""
    if not is_local(args.host) and not args.token:
        raise ConfigError(f"--host {args.host}: other machines can reach it, so every API "
                          f"call must bring a token: pass --token or set {TOKEN_ENV}")
    usable_address(args.host, args.port)
    model_files(args.model)


def main(argv=None, prog="deepfake-check serve"):
    """The command: check the arguments, load the model, serve until Ctrl-C."""
    args = parse_args(argv, prog)
    set_log_level(args.log_level)
    check_args(args)
    from deepfake_dvc.inference import Checker
    checker = Checker(args.model)  # says the card's warning, then loads
    work = Path(tempfile.mkdtemp(prefix="deepfake-serve-"))
    try:
        serve(create_app(checker, args, work), args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def serve(app, args):
    """Run the app with uvicorn until Ctrl-C (or SIGTERM) stops it."""
    import uvicorn
    config = uvicorn.Config(app, host=args.host, port=args.port, log_config=None,
                            log_level="warning" if args.log_level == "warning" else "info",
                            access_log=args.log_level == "debug", timeout_graceful_shutdown=5)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl-C again once stopped
        uvicorn.Server(config).run()
    log.info("stopped; its temporary files are removed")


def analyser(checker, job_url):
    """analyse(job, step) for Jobs: the video's verdict by the shared model (a checker
    sharing it per worker thread), its pictures drawn into the job's folder (one thread at
    a time: pyplot is not thread-safe); the record, as check --json prints it, with the
    client's name for the video and the pictures' URLs. The video is deleted once read."""
    from deepfake_dvc.pictures import write_pictures
    mine, drawing = threading.local(), threading.Lock()

    def analyse(job, step):
        if not hasattr(mine, "checker"):
            mine.checker = checker.sharing_model()
        video = job.folder / UPLOAD
        try:
            result = mine.checker.check(video, step)
        finally:
            video.unlink(missing_ok=True)
        result.video = job.name  # what the pictures' titles and the record call it
        if result.sampled is not None:
            step("drawing pictures")
            try:
                with drawing:
                    write_pictures(mine.checker, result, job.folder, "video")
            except MachineError as e:
                log.error(f"job {job.id}: {e}")
                result.error = ("the server could not write the pictures (a fault of the "
                                "server's machine, not of the video)")
        record = result.as_dict()
        if result.pictures:
            record["pictures"] = [f"{job_url(job.id)}/pictures/{Path(p).name.split('.', 1)[1]}"
                                  for p in result.pictures]
        return record
    return analyse


def model_record(checker, args):
    """What GET /api/model answers: the scope every verdict carries, the card's training
    data, calibration, decision and test metrics (None without a card), the server's
    limits."""
    card = read_json(checker.scope["card"]) if checker.scope["card"] else {}
    return dict(scope=checker.scope, **{key: card.get(key) for key in
                                        ("data", "training", "calibration", "decision", "test")},
                limits=dict(max_mb=args.max_mb, max_seconds=args.max_seconds, jobs=args.jobs,
                            queue=args.queue, keep_minutes=args.keep_minutes,
                            video_types=sorted(VIDEO_EXTS)))


UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["video"], "properties": {
        "video": {"type": "string", "format": "binary",
                  "description": "one video (mp4, mov, avi, mkv, webm)"}}}}}}}


def create_app(checker, args, work):
    """The ASGI app: the page, the API and its docs; its jobs' files under work."""
    from fastapi import APIRouter, Depends, HTTPException, Query, Request
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from fastapi.staticfiles import StaticFiles
    from fastapi_offline import FastAPIOffline
    from starlette.concurrency import run_in_threadpool

    def job_url(job_id):
        return f"/api/jobs/{job_id}"

    jobs = Jobs(work, analyser(checker, job_url), args.jobs, args.queue,
                args.keep_minutes * 60)
    max_bytes = int(args.max_mb * 2**20)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        sweeper = asyncio.create_task(sweep(jobs, min(30.0, args.keep_minutes * 15)))
        log.info(f"serving {args.model} on http://{args.host}:{args.port}/ "
                 f"(the page; the API's docs at /docs); Ctrl-C stops")
        try:
            yield
        finally:
            sweeper.cancel()
            log.info("stopping: the analysis in progress finishes, the queued are dropped")
            await asyncio.to_thread(jobs.close)
            shutil.rmtree(work, ignore_errors=True)

    app = FastAPIOffline(title="deepfake-check", lifespan=lifespan, version="1",
                         description=__doc__.split("\n\n")[1], static_url="/docs-static")
    app.state.jobs = jobs
    bearer = HTTPBearer(auto_error=False, description="--token, when the server has one")

    def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)):
        if args.token and not (credentials and secrets.compare_digest(
                credentials.credentials.encode(), args.token.encode())):
            raise HTTPException(401, "this server needs its token: 'Authorization: Bearer "
                                     "TOKEN'", headers={"WWW-Authenticate": "Bearer"})

    api = APIRouter(prefix="/api", dependencies=[Depends(authorised)])

    @app.exception_handler(Refused)
    async def refused(request, e):
        return JSONResponse({"detail": e.message}, status_code=e.status)

    @app.exception_handler(Busy)
    async def busy(request, e):
        return JSONResponse({"detail": str(e)}, status_code=429,
                            headers={"Retry-After": str(e.retry_after)})

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/health", summary="Whether the server answers, and its queue")
    def health():
        return dict(status="ok", mark=checker.scope["mark"], jobs=jobs.counts())

    @api.get("/model", summary="What the model is worth: its card's scope, training data, "
                               "calibration and threshold, and the server's limits")
    def model():
        return model_record(checker, args)

    @api.post("/check", status_code=202, openapi_extra=UPLOAD_BODY,
              summary="Upload one video (multipart field 'video'); answers its job's id",
              responses={400: {}, 401: {}, 413: {}, 415: {}, 422: {}, 429: {}, 507: {}})
    async def check(request: Request):
        if int(request.headers.get("content-length") or 0) > max_bytes + MULTIPART_SLACK:
            raise too_large(max_bytes)
        jobs.reserve()
        job = None
        try:
            job = jobs.new("upload")
            with open(job.folder / UPLOAD, "xb") as out:
                got = await receive(request.stream(), request.headers.get("content-type"),
                                    out, max_bytes)
            job.name = got.name
            await run_in_threadpool(check_video, job.folder / UPLOAD, args.max_seconds)
        except OSError as e:
            log.error(f"upload: {e}")
            undo(jobs, job)
            raise HTTPException(507, MACHINE_FAULT.format(why=e.strerror or e)) from None
        except BaseException:
            undo(jobs, job)
            raise
        jobs.start(job)
        return dict(id=job.id, video=job.name, url=job_url(job.id))

    def found(job_id):
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"no job {job_id!r} (unknown, or its result was "
                                     f"removed {args.keep_minutes:g} minutes after it came)")
        return job

    @api.get("/jobs/{job_id}", summary="A job's state, progress and result (the record "
                                       "`deepfake-check --json` prints)")
    async def job_state(job_id: str, wait: float = Query(0, ge=0, le=WAIT_MAX, description=
                        "seconds to wait for the job to end before answering (a long poll)")):
        job = found(job_id)
        deadline = time.monotonic() + wait
        while job.finished is None and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_STEP)
        return job.as_dict(jobs.ahead(job))

    @api.get("/jobs/{job_id}/pictures/{kind}", summary="One of a job's pictures",
             response_class=FileResponse)
    def picture(job_id: str, kind: str):
        job = found(job_id)
        if kind not in PICTURES or not (job.folder / f"video.{kind}").is_file():
            raise HTTPException(404, f"no picture {kind!r} for job {job_id!r}")
        return FileResponse(job.folder / f"video.{kind}")

    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def undo(jobs, job):
    """Give back the place of an upload that was refused, and remove what it left."""
    jobs.release()
    if job is not None:
        shutil.rmtree(job.folder, ignore_errors=True)


async def sweep(jobs, period):
    """Remove expired jobs every period seconds, for as long as the server runs."""
    while True:
        await asyncio.sleep(period)
        jobs.expire()
