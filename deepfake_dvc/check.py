"""Is this video a deepfake? The trained model's verdict for each video, and what it is worth.

Uses exactly the frame sampling, face detection, cropping and preprocessing
that the model was trained with (models/preprocessing.json), and the model
card that evaluate wrote beside it (models/card.json): the calibration
(temperature scaling), the threshold, when to say UNCERTAIN, and what the
model was trained on. A model trained on little or synthetic data, or the
demo model, gets a warning that its verdicts are not evidence.

Verdicts: FAKE, REAL, UNCERTAIN (within the card's uncertain_margin of the
threshold, or fewer than min_faces faces found), UNKNOWN (no face found).
VIDEO may be a file, a folder (every video under it, recursively: .mp4 .avi
.mov .mkv .webm in any letter case) or a glob pattern ('clips/**/*.mp4').
After the videos, a summary counts each verdict and the failures.
`deepfake-check serve` serves a web page and a JSON API instead (serve --help; a video named
serve: ./serve).
Exit status 0 when every video got a verdict, 1 when any could not be read,
2 when the model, its preprocessing.json or card, --out or --csv cannot be
used, or a folder or pattern holds no video (before any video is read).
"""
import argparse
import csv
import functools
import io
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from deepfake_dvc.calibration import VERDICTS
from deepfake_dvc.cli import add_model_argument, add_verbosity, run_command
from deepfake_dvc.errors import ConfigError, MachineError
from deepfake_dvc.files import slug, write_text_atomic
from deepfake_dvc.inference import Checker
from deepfake_dvc.log import log, set_log_level, showing_progress
from deepfake_dvc.paths import CARD, PREPROCESSING, TRAINING
from deepfake_dvc.pictures import write_pictures
from deepfake_dvc.video_files import VIDEO_EXTS, glob_videos, has_magic, video_entries

CSV_COLUMNS = ("video", "verdict", "scope", "p_fake", "p_fake_raw", "frames_sampled",
               "faces_found", "seconds", "reason", "error")
EARLIER_CSV_COLUMNS = tuple(c for c in CSV_COLUMNS if c != "scope")  # before the scope column
WARNING_HEAD = "check's warning about the verdicts in "  # the first line of a CSV's warning file


def parse_args(argv, prog):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="+", metavar="VIDEO",
                        help="video files, folders (checked recursively) or glob patterns")
    add_model_argument(parser)
    parser.add_argument("--threshold", type=probability, default=None,
                        help="FAKE when the calibrated P(fake) >= this (default: the card's "
                             "threshold, else 0.5)")
    parser.add_argument("--json", action="store_true", help="one JSON object per video")
    parser.add_argument("--out", metavar="DIR", type=Path,
                        help="write per video an annotated frame, a P(fake) timeline and a "
                             "Grad-CAM picture of the face that scored most fake, each with "
                             "the model card's mark (DEMO MODEL - NOT EVIDENCE, ...)")
    parser.add_argument("--csv", metavar="FILE", type=Path,
                        help=f"also write one row per video ({', '.join(CSV_COLUMNS)}; scope: "
                             f"the model card's mark, empty when it gives no warning) and, "
                             f"when the card warns, the warning to FILE.warning.txt")
    add_verbosity(parser)
    return parser.parse_args(argv)


def video_files(items):
    """The videos named by files, folders (every video under them) and glob patterns, in the
    order given; ConfigError naming a folder or pattern that holds none, or an empty name
    (an unset shell variable would otherwise mean the current folder). A file is taken as
    given: one that cannot be read is reported with the others."""
    found = []
    for item in items:
        if not item.strip():
            raise ConfigError("an empty VIDEO argument (an unset shell variable?): name a "
                              "file, a folder or a pattern; '.' for the current folder")
        path = Path(item)
        if path.is_file() or not (path.is_dir() or has_magic(item)):
            found.append(path)
            continue
        named = video_entries(path) if path.is_dir() else glob_videos(item)
        videos = sorted(p for p in named if p.is_file())  # not a folder named like a video
        if not videos:
            raise ConfigError(f"no videos in '{item}' ({' '.join(sorted(VIDEO_EXTS))}, "
                              f"in any letter case)")
        found += videos
    return found


def probability(text):
    """argparse type: a number in [0, 1]."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not in [0, 1]")
    return value


def usable_csv(path, reads):
    """Say before the model loads why --csv FILE, or its warning file beside it, cannot be
    written: a folder, a special file, a file the command reads (reads: their real paths),
    or a file that is not a CSV (a warning) of an earlier check, which it would overwrite."""
    replaceable(path, f"--csv '{path}'", "a CSV", csv_headers(), reads)
    side = warning_file(path)
    replaceable(side, f"--csv '{path}': its warning file '{side}'", "a warning",
                (WARNING_HEAD,), reads)
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"--csv '{path}': folder '{folder}' does not exist or is not writable")


def replaceable(path, named, what, heads, reads):
    """ConfigError (named ...) unless path is free, or what an earlier check wrote: a file
    beginning with one of heads."""
    if path.is_dir():
        raise ConfigError(f"{named} is a folder; give a file name")
    if os.path.realpath(path) in reads:
        raise ConfigError(f"{named} is a file this command reads (a video or the "
                          f"model's); give another file name")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{named} is not a regular file (a device or a pipe); give a "
                          f"file name")
    if path.is_file() and not written_by_check(path, heads):
        raise ConfigError(f"{named} exists and is not {what} that check wrote; not "
                          f"overwritten: give a new file name, or remove it")


def csv_headers():
    """The first lines of the CSVs check writes, and wrote before the scope column."""
    return tuple(",".join(columns) for columns in (CSV_COLUMNS, EARLIER_CSV_COLUMNS))


def written_by_check(path, heads=None):
    """Whether a file begins as check's CSVs do (or with one of heads): an earlier check's,
    safe to replace."""
    heads = [head.encode() for head in heads or csv_headers()]
    with open(path, "rb") as f:
        start = f.read(max(map(len, heads)))
    return any(start.startswith(head) for head in heads)


def warning_file(csv_path):
    """Where --csv FILE's warning goes: FILE.warning.txt beside it."""
    return csv_path.with_name(csv_path.name + ".warning.txt")


def warning_text(csv_path, scope):
    """The card's warning for the readers of a CSV, once, or None when the card gives none."""
    if not scope["warning"]:
        return None
    rule = f"threshold {scope['threshold']:g} ({scope['threshold_rule']})"
    return (f"{WARNING_HEAD}{csv_path.name} (marked '{scope['mark']}' in its scope column):\n"
            f"{scope['warning']}\nmodel card: {scope['card'] or 'none'}; {rule}\n")


def write_csv(path, results, scope):
    """The CSV, after its warning file (so a CSV never lies there without its warning); a
    warning file of an earlier check is removed when this model's card gives none."""
    side, warning = warning_file(path), warning_text(path, scope)
    if warning:
        write_text_atomic(side, warning)
    elif side.is_file():  # usable_csv found it to be an earlier check's
        side.unlink()
    write_text_atomic(path, csv_text(results))


def files_read(videos, model_path):
    """The real paths of what a check reads: the videos and the model's files."""
    model = Path(model_path)  # as model_files finds them, without requiring them yet
    beside = (model, *(model.with_name(name) for name in (PREPROCESSING.name, CARD.name,
                                                           TRAINING.name)))
    return {os.path.realpath(p) for p in (*videos, *beside)}


def csv_text(results):
    """One row per result, CSV_COLUMNS; scope is the model card's mark ('demo model', 'not
    evidence', 'no model card'), empty when the card gives no warning."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(dict(r.as_dict(), scope=r.model["mark"] or "") for r in results)
    return out.getvalue()


def summary(results):
    """One line: how many videos got each verdict, and how many failed."""
    counts = {v: sum(r.verdict == v for r in results) for v in (*VERDICTS, "ERROR")}
    return (f"summary: {len(results)} video(s): "
            + ", ".join(f"{counts[v]} {v}" for v in VERDICTS) + f", {counts['ERROR']} failed")


def usable_out_dir(out):
    """Create --out (and its parents) or say why it cannot be: before the model loads."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"--out '{out}': a file is in the way; give a folder") from None
    except OSError as e:
        raise ConfigError(f"--out '{out}' cannot be created ({e.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"--out '{out}' is not writable")


def line(result):
    """The one-line human summary of a result that has a verdict."""
    mark = result.model["mark"]
    verdict = result.verdict + (f" ({mark})" if mark else "")
    score = "  -  " if result.p_fake is None else f"{result.p_fake:.3f}"
    why = f"  ({result.reason})" if result.reason else ""
    seconds = f"{result.seconds:.1f}s" + (f" (Grad-CAM {result.gradcam['seconds']:.1f}s)"
                                          if result.gradcam else "")
    return (f"{verdict:<25} p(fake)={score}  frames={result.frames_sampled} "
            f"faces={result.faces_found}  {seconds}  {result.video}{why}")


def unique_name(name, taken):
    """name, or name-2, name-3 ... if an earlier video of this call had it; noted in taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def main(argv=None, prog="python -m stages.check"):
    """The command: check each video, print its verdict line, write --csv and --out; or,
    as `serve ...`, the web page and API (deepfake_dvc.serve)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:
        return serve(argv[1:], f"{prog} serve")
    args = parse_args(argv, prog)
    set_log_level(args.log_level)
    videos = video_files(args.videos)
    if args.out:
        usable_out_dir(args.out)
    if args.csv:
        usable_csv(args.csv, files_read(videos, args.model))
    checker = Checker(args.model, args.threshold)  # says the card's warning, then loads
    results, names = [], set()
    for video in tqdm(videos, desc="check", unit="video", file=sys.stderr,
                      disable=len(videos) < 2 or not showing_progress()):
        result = checker.check(video)
        if result.sampled is not None and args.out:
            try:
                write_pictures(checker, result, args.out,
                               unique_name(slug(Path(video).stem), names))
            except MachineError as e:  # the verdict stands; the exit status says it
                result.error = f"pictures not written: {e}"
                log.error(f"{video}: {result.error}")
        results.append(result)
        log.debug(f"{video}: faces at frames {result.frame_indices}, calibrated P(fake) "
                  f"{result.frame_p_fake}, seconds {result.timing}")
        if args.json:
            say(json.dumps(result.as_dict()))
        elif result.verdict == "ERROR":
            log.error(f"{result.video}: {result.error}")
        else:
            say(line(result))
    if args.csv:
        write_csv(args.csv, results, checker.scope)
    log.info(summary(results))
    return 1 if any(r.error for r in results) else 0  # unread, or pictures unwritten


def serve(argv, prog):
    """The serve subcommand, whose packages (the serve extra) are imported only for it."""
    try:
        from deepfake_dvc.serve import main as serve_main
    except ImportError as e:
        raise ConfigError(f"serve needs {e.name}: pip install 'deepfake-dvc[serve]' (or "
                          f"requirements.txt)") from None
    return serve_main(argv, prog)


def say(text):
    """A verdict line on stdout (above the progress bar); nowhere when stdout is closed."""
    if sys.stdout is not None:
        tqdm.write(text, file=sys.stdout)


def cli():
    """The deepfake-check command (installed by `pip install .`)."""
    sys.exit(run_command(functools.partial(main, prog="deepfake-check")))

