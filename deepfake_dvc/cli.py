"""What every command shares: its arguments, its exit status, its messages and closed pipes."""
import contextlib
import fcntl
import os
import sys

from tqdm.contrib.logging import logging_redirect_tqdm

from deepfake_dvc.errors import MACHINE_ERRNOS, ConfigError, DataError, MachineError
from deepfake_dvc.log import install_console, log
from deepfake_dvc.paths import MODEL


def add_model_argument(parser):
    """--model PATH on a command: the trained model, whose model_files it reads."""
    parser.add_argument("--model", default=str(MODEL),
                        help=f"trained model (default {MODEL}); its preprocessing.json and "
                             f"card.json beside it")


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
    install_console()
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
