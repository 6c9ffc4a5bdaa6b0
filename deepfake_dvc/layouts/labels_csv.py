"""A labels.csv beside the videos: path,label[,group], or the DFDC public test set's
filename,label (1 is fake)."""
import warnings

import pandas as pd

from deepfake_dvc.errors import DataError
from deepfake_dvc.layouts import Layout, register, video_table
from deepfake_dvc.paths import LABELS_CSV

DFDC_TEST_COLUMNS = ["filename", "label"]  # the public test set's labels.csv; 1 is fake


def _from_csv(path):
    try:
        with warnings.catch_warnings():  # a row with more fields than the header only warns
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, pd.errors.ParserWarning,
            UnicodeDecodeError) as e:
        raise DataError(f"{path} cannot be read as path,label[,group] CSV "
                        f"({' '.join(str(e).split())})") from None
    if "path" not in table and set(DFDC_TEST_COLUMNS) <= set(table.columns):
        table = table.rename(columns={"filename": "path"})  # DFDC's public test set: 1 is fake
        table["label"] = table["label"].str.strip().map({"1": "fake", "0": "real"}).fillna(
            table["label"])
    missing = {"path", "label"} - set(table.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))} "
                        f"(expected path,label[,group])")
    if "group" not in table:
        table["group"] = ""
    table = table[["path", "label", "group"]].fillna("")  # short rows: NaN
    table["source"] = table["group"]  # a group that names a listed video is its footage
    return video_table(table.to_dict("records"),
                  where=[f"{LABELS_CSV} line {i + 2}" for i in range(len(table))])


register(Layout("labels", f"{LABELS_CSV} (path,label[,group]; or DFDC's test set filename,label)",
                lambda root: (root / LABELS_CSV).is_file(),
                lambda root, **options: _from_csv(root / LABELS_CSV)))
