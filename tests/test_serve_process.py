"""The real `deepfake-check serve` process on a free loopback port: its result equals `check
--json`'s, it stays up under 20 concurrent uploads and cleans up after them and after Ctrl-C,
and its page, in Debian's headless chromium, shows the warning, the verdict and the pictures."""
import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest

from tests.conftest import ROOT, command_env, run
from tests.synth import face_video
from tests.test_serve import WARNING_START, tiny_model

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--proxy-server=127.0.0.1:9"]  # anything fetched from the web fails
IGNORED = ("seconds", "timing", "video", "pictures", "gradcam")  # where they differ by nature


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return [face_video(folder / f"clip{i}.mp4", n_frames=6 + i % 3) for i in range(3)]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def server(model, tmp, *options):
    """A running `python -m stages.check serve` (deepfake-check's main) with its temporary
    folder under tmp: (base URL, its process); stopped with Ctrl-C (SIGINT) afterwards."""
    port = free_port()
    env = dict(command_env(ROOT), TMPDIR=str(tmp))
    log = open(tmp / "server.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "stages.check", "serve", "--model",
                             str(model), "--port", str(port), *options], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            log.seek(0)
            raise AssertionError(f"the server did not start:\n{log.read()}")
        yield base, proc
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        log.close()


def private_folders(tmp):
    return list(tmp.glob("deepfake-serve-*"))


def analysed(base, path, timeout=120):
    """POST a video and poll its job: (the POST's status, the finished job or None)."""
    with open(path, "rb") as f:
        answer = httpx.post(f"{base}/api/check", files={"video": (path.name, f, "video/mp4")},
                            timeout=timeout)
    if answer.status_code != 202:
        return answer.status_code, answer
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = httpx.get(f"{base}{answer.json()['url']}", timeout=10).json()
        if job["state"] in ("done", "failed"):
            return 202, job
        time.sleep(0.2)
    raise AssertionError(f"{path} not analysed in {timeout} s")


def comparable(record):
    return {k: v for k, v in record.items() if k not in IGNORED}


def test_the_server_gives_check_jsons_record_and_stops_cleanly_on_ctrl_c(model, clips,
                                                                          tmp_path):
    out = tmp_path / "pictures"
    done = run([sys.executable, "-m", "stages.check", "--json", "--out", str(out),
                "--model", str(model), *map(str, clips)], ROOT)
    by_check = [json.loads(line) for line in done.stdout.splitlines()]
    with server(model, tmp_path) as (base, proc):
        assert private_folders(tmp_path)
        for path, expected in zip(clips, by_check):
            status, job = analysed(base, path)
            assert status == 202 and job["state"] == "done"
            assert comparable(job["result"]) == comparable(expected)
            assert job["result"]["gradcam"]["layer"] == expected["gradcam"]["layer"]
            assert len(job["result"]["pictures"]) == len(expected["pictures"]) == 3
        assert httpx.post(f"{base}/api/check", files={"video": ("a.mp4", b"text")}
                          ).status_code == 415
    assert proc.returncode == 0
    assert not private_folders(tmp_path)  # Ctrl-C removed its temporary files
    log = (tmp_path / "server.log").read_text()
    assert log.index("warning: This model") < log.index("serving") < log.index("stopped")


def test_a_non_local_bind_needs_the_token_on_every_api_call(model, clips, tmp_path):
    with server(model, tmp_path, "--host", "0.0.0.0", "--token", "t0ken") as (base, _):
        assert httpx.get(f"{base}/api/model").status_code == 401
        assert httpx.post(f"{base}/api/check", files={"video": ("a.mp4", b"x")}
                          ).status_code == 401
        auth = {"Authorization": "Bearer t0ken"}
        assert httpx.get(f"{base}/api/model", headers=auth).status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200


def rss(proc):
    """Resident memory of the server process, in MB."""
    return psutil.Process(proc.pid).memory_info().rss / 2**20


def test_twenty_concurrent_uploads_get_a_result_or_429_and_leave_nothing(model, clips,
                                                                        tmp_path):
    keep = 0.05  # minutes: 3 s
    with server(model, tmp_path, "--jobs", "1", "--queue", "8", "--keep-minutes",
                str(keep)) as (base, proc):
        analysed(base, clips[0])  # warm: the first call builds the model's predict
        before = rss(proc)
        outcomes, peak = [], [before]
        sampling = threading.Event()

        def sample():
            while not sampling.wait(0.2):
                peak.append(rss(proc))
        sampler = threading.Thread(target=sample)
        sampler.start()
        workers = [threading.Thread(target=lambda i=i: outcomes.append(
            analysed(base, clips[i % len(clips)])[0])) for i in range(20)]
        began = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=180)
        seconds = time.monotonic() - began
        sampling.set()
        sampler.join()
        assert len(outcomes) == 20 and set(outcomes) <= {202, 429}, outcomes
        assert 202 in outcomes and 429 in outcomes  # queue of 8 behind 1: some are refused
        assert max(peak) - before < 500, (before, max(peak))  # MB: bounded, not per upload
        print(f"\n20 concurrent uploads in {seconds:.1f} s: {outcomes.count(202)} analysed, "
              f"{outcomes.count(429)} refused with 429; server RSS {before:.0f} MB before, "
              f"{max(peak):.0f} MB at most")
        assert httpx.get(f"{base}/health").json()["jobs"]["running"] == 0
        time.sleep(keep * 60 + 2)  # the results expire, and the sweep removes them
        folder, = private_folders(tmp_path)
        assert not list(folder.iterdir())
    assert not private_folders(tmp_path)


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not on PATH (.ci/run installs Debian's)")
def test_the_page_shows_the_warning_first_the_verdict_and_the_pictures(model, clips, tmp_path):
    from playwright.sync_api import sync_playwright
    with server(model, tmp_path) as (base, _), sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(  # a fresh profile
            tmp_path / "profile", executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900})
        page = browser.new_page()
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(base)
        page.wait_for_selector("#warning:not([hidden])")
        page.set_input_files("#files", str(clips[0]))
        page.wait_for_selector(".job .label", timeout=90_000)
        page.wait_for_function("[...document.querySelectorAll('.job img')].length === 3 && "
                               "[...document.querySelectorAll('.job img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)", timeout=30_000)
        shot = tmp_path / "serve-page.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot: {shot}")
        card = page.locator(".job")
        text = card.inner_text()
        warning = page.locator("#warning-text").inner_text()
        first = card.locator(":scope > *").nth(1).get_attribute("class")  # after the name
        href = card.locator("a.json").get_attribute("href")
        browser.close()
    assert warning.startswith(WARNING_START) and warning.endswith("are not evidence.")
    assert first == "warning"
    assert text.index(warning) < text.index("P(fake) =")  # the warning first, in full
    verdict = re.search(r"\b(FAKE|REAL|UNCERTAIN|UNKNOWN)\b", text[text.index(warning):])
    assert verdict and re.search(r"P\(fake\) = 0\.\d{3}", text)
    assert href.startswith("blob:") and "clip0.mp4" in text
    assert all(url.startswith(base) or url.startswith("blob:") for url in requests), requests
