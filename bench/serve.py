"""Seconds per clip through `deepfake-check serve`'s API against `deepfake-check` on the same
clips, in one run.

    python bench/serve.py                     # makes 4 generated 10-second 1080p clips first
    python bench/serve.py --clips-dir DIR     # every .mp4 under DIR

Builds an untrained model of params.yaml's backbone and img_size (weights do not change the
speed) with its preprocessing.json and a demo model's card, then:

- the command: `python -m stages.check --json --out DIR CLIP` (deepfake-check's main), one
  process per clip as a user at a shell runs it, each paying the imports and the model load
  again (wall time per clip); then one process over every clip after a warm-up clip, the
  seconds it reports per video with the model loaded;
- the server: `python -m stages.check serve` started once (its start-up timed), each clip
  POSTed to /api/check and its job polled (a long poll, ?wait=) until done, one after
  another; the wall time per clip from the upload to the result (pictures included, as
  with --out).

Target: through the API, within 1.1x of the command's seconds per video once the model is
loaded (the server loads it once; a command per clip pays the load again: both printed).
"""
import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.check import demo_card  # noqa: E402
from bench.preprocess import make_clips  # noqa: E402

WAIT = 30  # seconds a poll of a job waits for it to end (?wait=, a long poll)


def model_files(work):
    """An untrained model of params.yaml's backbone and img_size, its preprocessing.json and a
    demo card, in work; the model's path."""
    from deepfake_dvc.model import build_model, save_model
    from deepfake_dvc.params import Preprocessing
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    save_model(build_model(params["img_size"], backbone=params["backbone"]),
               work / "model.keras")
    Preprocessing(**{k: params[k] for k in Preprocessing.__dataclass_fields__}).save(
        work / "preprocessing.json")
    demo_card(work / "card.json", work / "model.keras", work / "preprocessing.json")
    return work / "model.keras", f"{params['backbone']} at {params['img_size']} px"


def environment():
    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")


def by_command(model, clips, out):
    """[(wall seconds, the seconds the command reports for the video)] per clip, one
    `python -m stages.check` process each."""
    timings = []
    for clip in clips:
        start = time.perf_counter()
        records = check(model, [clip], out)
        timings.append((time.perf_counter() - start, records[0]["seconds"]))
    return timings


def check(model, clips, out):
    """The --json records of one `python -m stages.check --out` process over clips."""
    done = subprocess.run([sys.executable, "-m", "stages.check", "--json", "--out", str(out),
                           "--model", str(model), *map(str, clips)], cwd=ROOT,
                          env=environment(), capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(model):
    """(base URL, seconds from the command to /health answering) of a server; Ctrl-C after."""
    import httpx
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "stages.check", "serve", "--model",
                             str(model), "--port", str(port), "-q"], cwd=ROOT,
                            env=environment())
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        yield base, time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)


def by_api(base, clips):
    """[(wall seconds from the upload to the result, the seconds the result reports)] per
    clip, one after another."""
    import httpx
    timings = []
    with httpx.Client(base_url=base, timeout=600) as client:
        for clip in clips:
            start = time.perf_counter()
            with open(clip, "rb") as f:
                answer = client.post("/api/check", files={"video": (clip.name, f)})
            answer.raise_for_status()
            while (job := client.get(answer.json()["url"], params=dict(wait=WAIT)).json()
                   )["state"] not in ("done", "failed"):
                pass
            timings.append((time.perf_counter() - start, job["result"]))
    return timings


def mean(values):
    return sum(values) / len(values)


def steps(records):
    """The mean seconds of each step of the records' timing, as 'a / b / c / d / e'."""
    return " / ".join(f"{mean([r['timing'][k] for r in records]):.2f}"
                      for k in ("decode", "faces", "model", "pictures", "gradcam"))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips-dir", type=Path,
                        help="check every .mp4 under it (default: 4 generated 1080p clips)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    if args.clips_dir is None:
        make_clips(work / "clips", 4)
        args.clips_dir = work / "clips"
    clips = sorted(args.clips_dir.rglob("*.mp4"))
    model, described = model_files(work)

    command = by_command(model, clips, work / "out")
    loaded = check(model, clips[:1] + clips, work / "out")[1:]  # the first: a warm-up
    with running_server(model) as (base, start_up):
        by_api(base, clips[:1])  # warm, as the command's first video: builds model.predict
        api = by_api(base, clips)

    per_process = mean([wall for wall, _ in command])
    per_video = mean([r["seconds"] for r in loaded])
    per_api = mean([wall for wall, _ in api])
    served = [record for _, record in api]
    print(f"{len(clips)} clips from {args.clips_dir}; model {described} (untrained)")
    print("| seconds per clip | deepfake-check | the API (one server) |")
    print("| --- | --- | --- |")
    print(f"| a process per clip (imports, model load) | {per_process:.2f} | - |")
    print(f"| model loaded (one process; the API: upload to result) | {per_video:.2f} | "
          f"{per_api:.2f} |")
    print(f"| the analysis alone, as the result reports it | {per_video:.2f} | "
          f"{mean([r['seconds'] for r in served]):.2f} |")
    print(f"| decode / faces / model / pictures / Grad-CAM | {steps(loaded)} | "
          f"{steps(served)} |")
    print(f"| start-up, once (to /health answering) | - | {start_up:.2f} |")
    print(f"API per clip / command per clip, model loaded: {per_api / per_video:.3f} "
          f"(target <= 1.10)")
    print(f"a command per clip / API per clip: {per_process / per_api:.2f}")

if __name__ == "__main__":
    main()
