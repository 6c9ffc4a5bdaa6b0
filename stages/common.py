"""Plumbing every stage shares: paths, errors, messages, atomic writes, parallel maps, figures."""
import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import logging.handlers
import multiprocessing
import os
import re
import sys
import unicodedata
from pathlib import Path

import pandas as pd
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

# Where the stages read and write (the same paths dvc.yaml names).
DEMO_DIR = Path("data/demo")
LABELS_CSV = "labels.csv"      # a data_dir's list of videos: path,label[,group]
MANIFEST = Path("data/manifest.csv")
FACES_DIR = Path("data/faces")
EVAL_DIR = Path("data/eval")   # the evaluation sets' crops, one folder per set
FACES_TABLE = Path("data/faces.csv")
FACES_METRICS = Path("metrics/faces.json")
FACE_SETTINGS = FACES_DIR / "settings.json"  # how the frames were sampled, the faces found and cropped
SPLIT = Path("data/split.csv")
SPLIT_METRICS = Path("metrics/split.json")
MODEL = Path("models/model.keras")
PREPROCESSING = Path("models/preprocessing.json")
CHECKPOINT = Path("models/checkpoint")    # train's last epoch, to resume from (persist: true)
TRAINING = Path("models/training.json")   # what the model saw and how it was trained
CARD = Path("models/card.json")           # ... with its calibration, threshold and test metrics
PREDICTIONS = Path("data/predictions.csv")
TRAIN_LIVE = Path("dvclive/train")        # DVCLive's folders: train's per-epoch metrics ...
EVAL_LIVE = Path("dvclive/evaluate")      # ... evaluate's test metrics, ROC, PR and confusion
EVAL_METRICS = EVAL_LIVE / "metrics.json"      # the test split's full report
TEST_METRICS = Path("metrics/test.json")        # ... and its headline: what `dvc metrics show` lists
EVAL_SETS_METRICS = Path("metrics/eval")        # <set>.json per evaluation set: its headline
GENERALIZATION = Path("metrics/generalization.json")
PLOTS_DIR = Path("plots")
LABEL_INDEX = {"real": 0, "fake": 1}   # the model's output order; fake is the positive class
DERIVED = "+"                  # never in an id made from a file name (video.assign_ids) ...
SELF_BLENDED = f"{DERIVED}sbi"  # ... so '<id>+sbi', detect_faces' self-blended fake, is unique


class ConfigError(Exception):
    """A parameter, settings file or model that is wrong: fix it and run again (exit status 2)."""


class DataError(Exception):
    """Input the command cannot go on with: contradictory labels, nothing usable (exit status 1)."""


class SkipInput(Exception):
    """One input that cannot be used: its reason is recorded and the others go on."""


class MachineError(Exception):
    """A write this machine refused (no space, no permission, a read-only disk): not the
    input's fault, so the command stops (exit status 1) instead of recording the input."""


def write_failed(path, error):
    """The MachineError for an OSError met while writing path."""
    return MachineError(f"cannot write '{path}': {error.strerror or error} (a fault of this "
                        f"machine, not of the input: free space or fix permissions, then run "
                        f"again)")


MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES,
                  errno.EPERM}


def add_model_argument(parser):
    """--model PATH on a command: the trained model, whose model_files it reads."""
    parser.add_argument("--model", default=str(MODEL),
                        help=f"trained model (default {MODEL}); its preprocessing.json and "
                             f"card.json beside it")


def model_files(model_path):
    """A trained model's files: (model, preprocessing.json, card.json) paths; the first two must exist."""
    model_path = Path(model_path)
    for needed in (model_path, model_path.with_name(PREPROCESSING.name)):
        if not needed.is_file():
            raise ConfigError(f"'{needed}' not found: train a model with `dvc repro` "
                              f"(or pass --model PATH)")
    return model_path, model_path.with_name(PREPROCESSING.name), model_path.with_name(CARD.name)


LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("stages")  # every message of the stages and commands


class _Stderr(logging.StreamHandler):
    """Writes to sys.stderr as it is when the message comes (tests and tqdm swap it)."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


class _OneLine(logging.Formatter):
    """info as it is; 'warning: ...', 'error: ...', 'debug: ...' for the other levels; always
    one line."""

    def format(self, record):
        text = clipped(" ".join(record.getMessage().splitlines()))
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {text}"


MESSAGE_MAX = 2000  # characters of one message on the terminal


def clipped(text, limit=MESSAGE_MAX):
    """text, or its first limit characters and how many more there were."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


def _console():
    """The handler of log: one line per message on stderr."""
    handler = _Stderr()
    handler.setFormatter(_OneLine())
    return handler


if not log.handlers:  # once per process
    log.addHandler(_console())
    log.setLevel(logging.INFO)
    log.propagate = False  # a root handler (absl's, a notebook's) would print each twice


def set_log_level(level):
    """Show messages of level (one of LOG_LEVELS) and above; below info, no progress bars."""
    log.setLevel(level.upper())


def showing_progress():
    """Whether progress bars are wanted (the log level is info or debug) and can be shown
    (stderr is open)."""
    return log.isEnabledFor(logging.INFO) and sys.stderr is not None


def add_verbosity(parser):
    """-v / -q on a command: debug messages too, or only warnings and errors."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="debug",
                       default="info", help="also debug messages")
    group.add_argument("-q", "--quiet", dest="log_level", action="store_const", const="warning",
                       help="only warnings and errors: no progress bars, no summary")


def run_command(main, argv=None):
    """main(argv)'s exit status, its messages printed through tqdm (bars stay whole);
    a ConfigError, DataError or MachineError becomes one `error:` line, a closed pipe
    (`| head`) a quiet exit."""
    reopen_closed_standard_streams()
    with logging_redirect_tqdm([log]):
        try:
            status = main(argv) or 0
            if sys.stdout is not None:
                sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
            return status
        except ConfigError as e:
            log.error(e)
            return 2
        except (DataError, MachineError) as e:
            log.error(e)
            return 1
        except KeyboardInterrupt:
            log.error("interrupted")
            return 130
        except BrokenPipeError:
            return stop_writing_to_closed_pipes()
        except OSError as e:
            if e.errno not in MACHINE_ERRNOS:
                raise
            log.error(f"'{e.filename}': {e.strerror} (the machine refused: free space or fix "
                      f"permissions, then run again)")
            return 1


def reopen_closed_standard_streams():
    """Point a closed stdin, or a stdout or stderr that cannot be written (`2>&-`, which can
    leave a read-only file there), at /dev/null: writing to it then fails nothing, and no
    file opened later takes its number."""
    for fd in (0, 1, 2):
        try:
            mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
            usable = fd == 0 or mode != os.O_RDONLY
        except OSError:  # closed
            usable = False
        if not usable:
            point_at_devnull(fd)


def stop_writing_to_closed_pipes():
    """After a reader of stdout or stderr went away: send what is still buffered nowhere,
    so Python's exit raises no second error; the exit status of a closed pipe (SIGPIPE)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            point_at_devnull(stream.fileno())
    return 141


def point_at_devnull(fd):
    """Make file descriptor fd write to /dev/null (whatever it was, even closed)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    if devnull != fd:
        os.dup2(devnull, fd)
        os.close(devnull)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary name beside path; rename it to path only on success.

    A path that exists and is not a regular file (a folder, a device such as
    /dev/null) is refused, not replaced; a write the machine refuses is a
    MachineError naming path, and leaves no temporary behind.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ConfigError(f"'{path}' exists and is not a regular file; not replaced")
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise write_failed(path, e) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_bytes_atomic(path, data):
    """Write bytes under a temporary name, then rename it."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path, text):
    """Write a small text file under a temporary name, then rename it."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, data):
    """Write data as indented JSON under a temporary name, then rename it."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def read_json(path):
    """The data of a JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def file_digest(path):
    """The SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def slug(text):
    """A file-name-safe ASCII form of text (accents dropped, others to '_')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).strip("._") or "video"


def read_table(path):
    """A CSV the stages wrote, every column as text (so ids like 000 stay 000); DataError
    when it is not there (a stage before this one has not run)."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataError(f"'{path}' not found: run the stages before this one (dvc repro)"
                        ) from None


def worker_count(workers):
    """The workers parameter as a process count: 0 means all cores."""
    return workers or os.cpu_count() or 1


def remove_temporaries(folder):
    """Delete the temporaries atomic_path leaves in folder when its process is killed."""
    for tmp in Path(folder).glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)


def _log_through(queue):
    """Pool initializer: the worker's messages go to the parent, which prints them."""
    log.handlers = [logging.handlers.QueueHandler(queue)]


def parallel_map(func, items, workers, desc, writes_to=()):
    """func over items in order, in `workers` forked processes, with a progress bar.

    Workers inherit the parent's state (a detector built before the call); an
    exception in one is raised again in the parent. Their messages are printed
    by the parent, above its progress bar. When the map is interrupted, the
    workers are killed and the temporaries they were writing into the folders
    writes_to are removed.
    """
    items = list(items)
    workers = min(worker_count(workers), max(len(items), 1))
    bar = dict(total=len(items), desc=desc, unit="video", file=sys.stderr,
               disable=not showing_progress())
    log.debug(f"{desc}: {len(items)} item(s) in {workers} process(es)")
    if workers == 1:
        return [func(item) for item in tqdm(items, **bar)]
    fork = multiprocessing.get_context("fork")
    messages = fork.Queue()
    listener = logging.handlers.QueueListener(messages, *log.handlers)
    listener.start()
    pool = fork.Pool(workers, initializer=_log_through, initargs=(messages,))
    try:
        results = list(tqdm(pool.imap(func, items), **bar))
        pool.close()  # idle workers exit on their own; terminate() could kill one holding a lock
        pool.join()
        listener.stop()  # prints what the workers said last
        return results
    except BaseException:
        pool.terminate()  # kills and joins the workers; a killed one may hold the queue's lock,
        for folder in writes_to:  # so the listener (a daemon thread) is left to end with us
            remove_temporaries(folder)
        raise


def new_figure(width, height):
    """(figure, axes) drawn off-screen, so no display is needed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=(width, height))


def save_figure(fig, path):
    """Save a new_figure as PNG under a temporary name, then close it."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
