"""The errors of the library and its commands: each says whose fault it is, and the exit status."""
import errno


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
