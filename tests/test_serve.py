"""deepfake-check serve in-process (FastAPI's TestClient): uploads, jobs, the token, the limits,
the private folder, the command's own errors; the real process is tests/test_serve_process.py."""
import argparse
import os
import socket
import threading
import time

import pytest
import yaml

from deepfake_dvc.cli import run_command
from deepfake_dvc.jobs import Busy, Jobs
from deepfake_dvc.uploads import container, label
from tests.conftest import ROOT
from tests.synth import face_frame, face_video, write_video

DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())
WARNING_START = "This model, trained on 12 real and 12 fake training videos"


def tiny_model(folder):
    """A tiny_cnn model at 32 px, its preprocessing.json and a demo model's card (which warns)
    in folder; the model's path."""
    from bench.check import demo_card
    from deepfake_dvc.model import build_model, save_model
    from deepfake_dvc.params import Preprocessing
    folder.mkdir(parents=True, exist_ok=True)
    save_model(build_model(32, backbone="tiny_cnn"), folder / "model.keras")
    Preprocessing(**{k: DEFAULTS[k] for k in Preprocessing.__dataclass_fields__
                     if k != "img_size"}, img_size=32).save(folder / "preprocessing.json")
    demo_card(folder / "card.json", folder / "model.keras", folder / "preprocessing.json")
    return folder / "model.keras"


def settings(model, **changed):
    """The serve command's arguments, as its parser gives them, with changes."""
    from deepfake_dvc.serve import parse_args
    args = parse_args(["--model", str(model)], "serve")
    return argparse.Namespace(**dict(vars(args), **changed))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def checker(model):
    from deepfake_dvc.inference import Checker
    return Checker(model)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return face_video(tmp_path_factory.mktemp("clips") / "clip.mp4", n_frames=8)


@pytest.fixture
def serve(checker, model, tmp_path):
    """serve(**settings) -> (TestClient of the running app, its private folder)."""
    from fastapi.testclient import TestClient

    from deepfake_dvc.serve import create_app
    clients = []

    def start(**changed):
        work = tmp_path / "work"
        work.mkdir(mode=0o700)
        client = TestClient(create_app(checker, settings(model, **changed), work))
        clients.append(client.__enter__())
        return client, work
    yield start
    for client in clients:
        client.__exit__(None, None, None)


def upload(client, data, name="clip.mp4", **headers):
    return client.post("/api/check", files={"video": (name, data, "video/mp4")},
                       headers=headers)


def finished(client, job_id, timeout=60, **headers):
    """The job's record once it is done or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_an_uploaded_video_gets_the_verdict_check_gives_it_with_its_pictures(serve, checker,
                                                                            clip):
    client, work = serve()
    answer = upload(client, clip.read_bytes())
    assert answer.status_code == 202 and answer.json()["video"] == "clip.mp4"
    job = finished(client, answer.json()["id"])
    assert job["state"] == "done" and job["progress"]["step"] == "done" and not job["error"]
    result, direct = job["result"], checker.check(clip).as_dict()
    for key in ("verdict", "p_fake", "p_fake_raw", "frame_indices", "frame_p_fake", "tracks",
                "model"):
        assert result[key] == direct[key], key
    assert result["model"]["warning"].startswith(WARNING_START)
    assert result["video"] == "clip.mp4" and result["gradcam"]["layer"]
    kinds = [url.rsplit("/", 1)[1] for url in result["pictures"]]
    assert kinds == ["verdict.jpg", "timeline.png", "gradcam.png"]
    for url in result["pictures"]:
        picture = client.get(url)
        assert picture.status_code == 200 and len(picture.content) > 1000
    assert not list(work.rglob("upload.video"))  # the video is deleted once analysed
    assert client.get(f"/api/jobs/{job['id']}/pictures/..%2F..%2Fcard.json").status_code == 404


def test_the_page_the_model_card_health_and_docs_are_served_from_the_package(serve):
    client, _ = serve()
    page = client.get("/")
    assert page.status_code == 200 and "Drop videos here" in page.text
    for asset in ("/static/app.js", "/static/style.css", "/docs"):
        text = client.get(asset).text
        assert "http://" not in text and "https://" not in text, asset  # nothing from the web
    model = client.get("/api/model").json()
    assert model["scope"]["mark"] == "demo model" and model["decision"]["temperature"] == 1.7
    assert model["data"]["demo"] is True and model["limits"]["max_mb"] == 300
    assert client.get("/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/check", "/api/jobs/{job_id}", "/api/model", "/health"} <= set(paths)
    assert "multipart/form-data" in paths["/api/check"]["post"]["requestBody"]["content"]


def test_an_upload_over_the_size_limit_is_refused_with_413(serve, clip):
    client, work = serve(max_mb=0.01)  # 10 KiB; the clip is about 20 KB
    data = clip.read_bytes()
    assert len(data) > 0.01 * 2**20
    streamed = upload(client, data)  # within the multipart slack: counted while received
    assert streamed.status_code == 413 and "--max-mb" in streamed.json()["detail"]
    announced = upload(client, data * 10)  # refused by its Content-Length before reading
    assert announced.status_code == 413
    assert not list(work.iterdir())  # nothing left of either


def test_what_is_not_a_readable_video_is_refused_whatever_its_name(serve, clip, tmp_path):
    client, work = serve()
    text = upload(client, b"just some text, named like a video\n" * 20, "notes.mp4")
    assert text.status_code == 415 and "whatever its name says" in text.json()["detail"]
    corrupt = upload(client, clip.read_bytes()[:48] + os.urandom(4000), "broken.mp4")
    assert corrupt.status_code == 415 and "does not decode" in corrupt.json()["detail"]
    raw = client.post("/api/check", content=clip.read_bytes(),
                      headers={"content-type": "video/mp4"})
    assert raw.status_code == 415 and "multipart/form-data" in raw.json()["detail"]
    none = client.post("/api/check", data={"video": "x"}, files={"other": ("", b"", "x/y")})
    assert none.status_code == 400
    assert not list(work.iterdir())


def test_a_video_too_long_is_refused_and_one_without_a_face_is_unknown(serve, tmp_path):
    client, _ = serve(max_seconds=1)
    long = face_video(tmp_path / "long.mp4", n_frames=15)  # 1.5 s at 10 fps
    refused = upload(client, long.read_bytes(), "long.mp4")
    assert refused.status_code == 422 and "--max-seconds" in refused.json()["detail"]
    empty = write_video(tmp_path / "empty.mp4", [face_frame(320, 240)[0]] * 6)
    job = finished(client, upload(client, empty.read_bytes(), "empty.mp4").json()["id"])
    assert job["state"] == "done" and job["result"]["verdict"] == "UNKNOWN"
    assert "no face found" in job["result"]["reason"]


def test_a_clients_file_name_is_a_label_never_a_path(serve, clip, tmp_path):
    client, work = serve()
    before = {p for p in tmp_path.parent.rglob("*")}
    for name in ("../../x.mp4", "..\\..\\x.mp4", "/etc/x.mp4"):
        job = finished(client, upload(client, clip.read_bytes(), name).json()["id"])
        assert job["video"] == "x.mp4" and job["result"]["video"] == "x.mp4"
    created = {p for p in tmp_path.parent.rglob("*")} - before
    assert created and all(work in p.parents for p in created)
    assert not [p for p in created if "x" == p.stem] and not (ROOT / "x.mp4").exists()
    assert label(b"a\x00b\nc.mp4") == "abc.mp4" and label(b"../") == "upload"


def test_with_a_token_every_api_call_needs_it(serve, clip):
    client, _ = serve(token="s3cret")
    assert client.get("/api/model").status_code == 401
    assert upload(client, clip.read_bytes()).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/api/model", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cret"}
    job = finished(client, upload(client, clip.read_bytes(), **right).json()["id"], **right)
    assert job["state"] == "done"
    assert client.get(job["result"]["pictures"][0]).status_code == 401
    assert client.get("/health").status_code == 200 and client.get("/").status_code == 200


def test_past_the_queue_an_upload_gets_429_with_retry_after(serve, clip):
    client, _ = serve(jobs=1, queue=1)
    jobs = client.app.state.jobs
    jobs.reserve()
    jobs.reserve()  # two uploads being received: the one analysis and the one place queued
    busy = upload(client, clip.read_bytes())
    assert busy.status_code == 429 and int(busy.headers["Retry-After"]) >= 1
    jobs.release()
    assert upload(client, clip.read_bytes()).status_code == 202


def test_jobs_run_in_order_and_expire_with_their_folders(tmp_path):
    started, go = [], threading.Event()

    def analyse(job, step):
        step("scoring")
        started.append(job.name)
        go.wait(30)
        if job.name == "bad":
            raise RuntimeError("boom")
        (job.folder / "video.verdict.jpg").write_bytes(b"x")
        return dict(verdict="REAL")
    jobs = Jobs(tmp_path, analyse, workers=1, queue=1, keep_seconds=60)
    made = []
    for name in ("good", "bad"):
        jobs.reserve()
        made.append(jobs.new(name))
        jobs.start(made[-1])
    with pytest.raises(Busy):
        jobs.reserve()
    assert made[1].as_dict(jobs.ahead(made[1]))["ahead"] == 0 and made[1].state == "queued"
    go.set()
    deadline = time.monotonic() + 30
    while any(job.finished is None for job in made) and time.monotonic() < deadline:
        time.sleep(0.01)
    good, bad = made
    assert started == ["good", "bad"] and good.state == "done" and bad.state == "failed"
    assert "boom" in bad.error and jobs.counts() == dict(running=0, queued=0, limit=2)
    assert jobs.expire() == 0 and good.folder.is_dir()
    assert jobs.expire(now=time.monotonic() + 61) == 2
    assert jobs.get(good.id) is None and not list(tmp_path.iterdir())
    jobs.close()


def test_an_expired_job_is_gone_with_its_pictures(serve, clip):
    client, work = serve()
    job = finished(client, upload(client, clip.read_bytes()).json()["id"])
    assert list(work.iterdir())
    client.app.state.jobs.expire(now=time.monotonic() + 31 * 60)
    gone = client.get(f"/api/jobs/{job['id']}")
    assert gone.status_code == 404 and "30 minutes" in gone.json()["detail"]
    assert not list(work.iterdir())


def test_a_full_disk_is_the_machines_fault_not_the_videos(serve, clip, small_disk):
    client, work = serve()
    small_disk(work, 16)  # KiB: the clip is larger
    refused = upload(client, clip.read_bytes())
    assert refused.status_code == 507 and "not of the video" in refused.json()["detail"]
    assert client.get("/health").status_code == 200


def test_the_sniffed_containers_are_the_pipelines():
    assert container(b"\x00\x00\x00\x18ftypmp42") == "mp4/mov"
    assert container(b"RIFF\x00\x00\x00\x00AVI ") == "avi"
    assert container(b"\x1a\x45\xdf\xa3\x01\x00\x00\x00") == "mkv/webm"
    assert container(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d") is None
    assert container(b"GIF89a") is None


def busy_port():
    """A socket listening on a free loopback port: (socket, port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_serve_says_what_is_wrong_in_one_line_before_loading_the_model(model, tmp_path,
                                                                       capsys):
    from deepfake_dvc.check import main
    sock, port = busy_port()
    with sock:
        cases = {
            ("--host", "0.0.0.0"): "--host 0.0.0.0: other machines can reach it",
            ("--port", str(port)): f"--port {port}: cannot listen",
            ("--model", str(tmp_path / "none.keras")): "none.keras' not found",
        }
        for extra, message in cases.items():
            argv = ["serve", "--model", str(model), *extra]
            status = run_command(lambda a: main(a, "deepfake-check"), argv)
            err = capsys.readouterr().err
            assert status == 2, (extra, err)
            assert message in err and "loading model" not in err, (extra, err)
    for argv, said in ((["--help"], "--keep-minutes"), (["--jobs", "0"], "--jobs '0': use an "
                                                             "integer >= 1")):
        with pytest.raises(SystemExit):
            main(["serve", *argv], "deepfake-check")
        assert said in "".join(capsys.readouterr())


def test_two_workers_share_the_model_and_agree_with_one(serve, checker, clip):
    client, _ = serve(jobs=2, queue=2)
    ids = [upload(client, clip.read_bytes()).json()["id"] for _ in range(4)]
    results = [finished(client, job_id)["result"] for job_id in ids]
    expected = checker.check(clip).p_fake
    assert [r["p_fake"] for r in results] == [expected] * 4


def test_the_token_may_come_from_the_environment(model, monkeypatch):
    from deepfake_dvc.serve import TOKEN_ENV, check_args
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    args = settings(model, host="0.0.0.0", port=0)  # port 0: any free one, for the check
    assert args.token == "from-env"
    check_args(args)  # a non-local host with a token: no error
