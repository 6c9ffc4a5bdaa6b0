"""TensorFlow, imported without its C++ start-up lines on the terminal.

Importing TensorFlow and finding its devices print lines from C++ straight to
file descriptor 2: CPU-feature notes, "Could not find cuda drivers" and, on a
machine without a GPU, `E0000 ... failed call to cuInit: ... (303)`, which a
CPU user reads as an error. TF_CPP_MIN_LOG_LEVEL does not stop the lines
written before absl's logging starts, so they are caught at the descriptor
and passed to the log at debug level (`-v`, `log_level: debug`) instead.
"""
import contextlib
import logging
import os
import sys
import tempfile

from deepfake_dvc.log import log


@contextlib.contextmanager
def _captured_stderr(lines):
    """Catch what is written to file descriptor 2 inside the block; its lines go to `lines`."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 to catch: let the lines go where they would
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            lines.extend(caught.read().decode(errors="replace").splitlines())


def import_tensorflow(cluster=False):
    """The tensorflow module, imported and its devices found (where cuInit runs), with what
    its C++ code printed meanwhile logged at debug level (at error level if the import fails).

    With cluster (train's) and TF_CONFIG set, this process starts as a worker of the
    cluster TF_CONFIG names (deepfake_dvc.cluster.started): TensorFlow allows that only
    before its devices are found.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if log.isEnabledFor(logging.DEBUG) else "2")
    lines = []
    try:
        with _captured_stderr(lines):
            import tensorflow as tf
            if cluster and os.environ.get("TF_CONFIG"):
                from deepfake_dvc.cluster import start
                start()
            tf.config.list_logical_devices()
    except BaseException:
        _replay(lines, logging.ERROR)
        raise
    _replay(lines, logging.DEBUG)
    return tf


def _replay(lines, level):
    """The caught lines, each a log message at level."""
    for text in lines:
        if text.strip():
            log.log(level, f"tensorflow: {text}")
