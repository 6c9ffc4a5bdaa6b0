"""The tables the stages write and read (CSV, one row per video): their columns, in order,
and the one way each is written and read back. No other module spells them out."""
import pandas as pd

from deepfake_dvc.errors import DataError
from deepfake_dvc.files import not_written_yet, write_text_atomic

LISTING = ("path", "label", "group", "source", "official_split")  # what a layout lists
LISTED = ("id", *LISTING, "status")  # a listed video, with its id and whether it can be read
# column: its value in the row of a video not (yet) read
CONTAINER = dict(fps=0.0, frame_count=0, width=0, height=0, duration=0.0, frames_kept=0,
                 sha256="")  # what a video's container holds, and its digest
FOUND = dict(frames=0, faces=0, frames_without_face=0, faces_not_aligned=0,
             faces_from="")  # what detect_faces found in it

MANIFEST_COLUMNS = (*LISTED, *CONTAINER)  # data/manifest.csv: every input video
FACES_COLUMNS = (*LISTED, *FOUND)  # data/faces.csv: every video and self-blended fake
EVAL_FACES_COLUMNS = (*LISTED, "frames", "faces")  # data/eval/NAME/faces.csv
SPLIT_COLUMNS = ("id", "path", "label", "group", "source", "split")  # data/split.csv
VIDEOS_COLUMNS = ("id", "path", "label", "split", "sha256")  # models/videos.csv
PERTURBED_FACES_COLUMNS = ("id", "path", "label", "status", "frames", "faces")  # data/robust/...
PREDICTION_COLUMNS = ("id", "path", "label", "faces", "p_fake_raw", "p_fake", "verdict")


def write_table(path, rows, columns):
    """rows (dicts or a DataFrame, with at least columns) to path as CSV with exactly these
    columns in this order, written whole or not at all."""
    columns = list(columns)
    table = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=columns)
    write_text_atomic(path, table[columns].to_csv(index=False))


def read_table(path, columns=()):
    """A table a stage wrote, every column as text (so ids like 000 stay 000); DataError when
    it is not there (a stage before this one has not run) or lacks one of columns (an older
    version wrote it)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise not_written_yet(path) from None
    missing = [c for c in columns if c not in table]
    if missing:
        raise DataError(f"'{path}' has no {missing[0]} column (written by an older version): "
                        f"run dvc repro")
    return table
