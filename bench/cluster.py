"""executor: ray against executor: local on this machine, and what a cluster would make of DFDC.

    python bench/cluster.py                    # 96 generated 1080p clips of 2 s and of 8 s
    python bench/cluster.py --clips 48 --seconds 2 8 20 --repeat 3 --frames-per-video 32
    python bench/cluster.py --data-dir ../shared/footage   # and a folder of real footage

In one run, for each clip length: the real `detect_faces` stage (a fresh project copy, the
command a user runs) over the same clips with `executor: local` and with `executor: ray`
(a local Ray instance of this machine's CPUs, started by the stage), each the best of
--repeat runs taken in turn (a shared machine's noise only ever adds time): wall seconds,
their ratio and Ray's fixed cost (the difference); then Ray's start-up and its cost per
task (a no-op task, round trip). Then a model of the cluster case: the per-video CPU
seconds measured here times the DFDC training set's video count, divided by N nodes of C
cores, plus the per-task overhead, for N = 1, 4, 16, 64.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.preprocess import make_clips  # noqa: E402

DFDC_VIDEOS = 119_146  # the DFDC training set (470 GB)


def project_copy(dest, data_dir, frames):
    """The project's code and params.yaml in dest, reading data_dir."""
    for package in ("deepfake_dvc", "stages"):
        shutil.copytree(ROOT / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params.update(data_dir=str(data_dir), frames_per_video=frames, workers=0,
                  log_level="warning")
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return dest


def stage_seconds(project, executor):
    """Wall seconds of `python -m stages.detect_faces` with executor, its outputs cleared."""
    for out in ("data", "metrics"):
        shutil.rmtree(project / out, ignore_errors=True)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["executor"] = executor
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=str(project), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("RAY_ADDRESS", None)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "stages.detect_faces"], cwd=project, env=env,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def best_seconds(project, repeat):
    """(local's, ray's) best wall seconds of repeat runs each, taken in turn."""
    runs = [(stage_seconds(project, "local"), stage_seconds(project, "ray"))
            for _ in range(repeat)]
    return min(local for local, _ in runs), min(ray for _, ray in runs)


def row(name, local, ray):
    """A table row: the seconds, their ratio and Ray's fixed cost."""
    return f"| {name} | {local:.1f} | {ray:.1f} | {ray / local:.2f} | {ray - local:.1f} |"


def noop(item):
    return item


def ray_costs(cpus, tasks=200):
    """(seconds to start a local Ray instance, seconds per no-op task round trip)."""
    import ray
    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR")
    started = time.perf_counter() - start
    task = ray.remote(noop)
    ray.get([task.remote(i) for i in range(cpus)])  # the workers up
    start = time.perf_counter()
    ray.get([task.remote(i) for i in range(tasks)])
    per_task = (time.perf_counter() - start) / tasks * cpus  # one worker's share
    ray.shutdown()
    return started, per_task


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=96)
    parser.add_argument("--seconds", type=int, nargs="+", default=[2, 8])
    parser.add_argument("--frames-per-video", type=int, default=32)
    parser.add_argument("--cores-per-node", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each executor; the best counts (default 3)")
    parser.add_argument("--data-dir", type=Path,
                        help="also a data_dir of real footage (a labels.csv or real/ and fake/)")
    args = parser.parse_args()
    cpus = os.cpu_count()
    work = Path(tempfile.mkdtemp(prefix="bench_cluster_"))

    print("| clips | local s | ray s | ray / local | ray - local, s |\n"
          "| --- | --- | --- | --- | --- |")
    per_video = None
    for seconds in args.seconds:
        clips = work / f"clips_{seconds}s"
        make_clips(clips, args.clips, seconds=seconds)
        project = project_copy(work / f"project_{seconds}s", clips, args.frames_per_video)
        local, ray = best_seconds(project, args.repeat)
        print(row(f"{args.clips} x {seconds} s 1080p, {args.frames_per_video} frames", local,
                  ray), flush=True)
        per_video = local * cpus / args.clips  # CPU seconds a video, the longest clips'
    if args.data_dir:
        project = project_copy(work / "project_footage", args.data_dir.resolve(),
                               args.frames_per_video)
        local, ray = best_seconds(project, args.repeat)
        print(row(f"{args.data_dir.name}, {args.frames_per_video} frames", local, ray),
              flush=True)
    started, per_task = ray_costs(cpus)
    print(f"\nRay: a local instance starts in {started:.1f} s; a task costs {per_task * 1000:.1f} "
          f"ms of a worker's time beyond its work")
    print(f"\nDFDC ({DFDC_VIDEOS} videos) at {per_video:.2f} CPU s a video "
          f"({args.seconds[-1]} s clips, {args.frames_per_video} frames), "
          f"{args.cores_per_node} cores a node:\n")
    print("| nodes | cores | hours |\n| --- | --- | --- |")
    for nodes in (1, 4, 16, 64):
        cores = nodes * args.cores_per_node
        hours = DFDC_VIDEOS * (per_video + per_task) / cores / 3600
        print(f"| {nodes} | {cores} | {hours:.2f} |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
