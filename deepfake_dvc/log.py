"""The library's messages: one logger, one line per message, progress bars only when wanted."""
import logging
import sys

LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("deepfake_dvc")  # every message of the library, its stages and commands


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


def set_log_level(level):
    """Show messages of level (one of LOG_LEVELS) and above; below info, no progress bars."""
    log.setLevel(level.upper())


def showing_progress():
    """Whether progress bars are wanted (the log level is info or debug) and can be shown
    (stderr is open)."""
    return log.isEnabledFor(logging.INFO) and sys.stderr is not None


def install_console():
    """For a command: its messages, from info up, one line each on stderr (once per process).
    The library itself only has a NullHandler, so a program importing it routes them."""
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        log.addHandler(_console())
    log.setLevel(logging.INFO)
    log.propagate = False  # a root handler (absl's, a notebook's) would print each twice
