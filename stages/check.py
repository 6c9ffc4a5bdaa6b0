"""DVC's and the README's `python -m stages.check`: the deepfake-check command
(deepfake_dvc.check)."""
import sys

from deepfake_dvc.check import main
from deepfake_dvc.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command(main))
