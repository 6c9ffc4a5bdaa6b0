"""DVC stage split: videos (never frames) to train, val and test.

Stratified by label; videos of one group (a fake and the real video it was
made from) always share a split. Reads data/faces.csv, writes data/split.csv
and metrics/split.json (counts, including the videos left out upstream).
"""
import argparse
import sys

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from stages.common import (
    FACES_TABLE,
    LABEL_INDEX,
    SPLIT,
    SPLIT_METRICS,
    DataError,
    read_table,
    run_command,
    warn,
    write_json,
    write_text_atomic,
)
from stages.params import read_params

PARAMS = ("test_size", "val_size", "seed")
SPLITS = ("train", "val", "test")


def hold_out(videos, fraction, seed):
    """A boolean mask: about `fraction` of the videos, whole groups, stratified by label."""
    folds = StratifiedGroupKFold(n_splits=max(2, round(1 / fraction)), shuffle=True,
                                 random_state=seed)
    _, held = next(folds.split(videos, videos["label"], videos["group"]))
    mask = pd.Series(False, index=videos.index)
    mask.iloc[held] = True
    return mask


def assign_splits(videos, test_size, val_size, seed):
    """videos with a `split` column: test first, then val carved from the rest."""
    videos = videos.copy()
    try:
        test = hold_out(videos, test_size, seed)
        val = hold_out(videos[~test], val_size, seed).reindex(videos.index, fill_value=False)
    except ValueError as e:
        raise DataError(f"cannot split {len(videos)} videos in {videos['group'].nunique()} groups "
                        f"into train/val/test ({e}); add videos or lower test_size/val_size"
                        ) from None
    videos["split"] = "train"
    videos.loc[val, "split"] = "val"
    videos.loc[test, "split"] = "test"
    return videos


def check_splits(videos):
    """The videos per label and split; DataError when a split lacks a class or a group
    crosses splits (which would leak a source's footage from training into test)."""
    counts = pd.crosstab(videos["label"], videos["split"]).reindex(
        index=list(LABEL_INDEX), columns=SPLITS, fill_value=0)
    for label, row in counts.iterrows():
        if (row == 0).any():
            usable = int((videos["label"] == label).sum())
            raise DataError(f"class '{label}' has {usable} usable videos: too few to fill "
                            f"train, val and test ({row.to_dict()}); "
                            f"add videos or lower test_size/val_size")
    crossing = videos.groupby("group")["split"].nunique() > 1
    if crossing.any():
        raise DataError(f"group '{crossing[crossing].index[0]}' crosses splits")
    return counts


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    table = read_table(FACES_TABLE)
    usable = table[table["status"] == "ok"]
    left_out = table[table["status"] != "ok"]
    for row in left_out.itertuples():
        warn(f"{row.path}: left out ({row.status})")

    videos = assign_splits(usable[["id", "path", "label", "group"]], **params)
    counts = check_splits(videos)

    write_text_atomic(SPLIT, videos.to_csv(index=False))
    summary = {split: {label: int(counts.loc[label, split]) for label in LABEL_INDEX}
               for split in SPLITS}
    summary["left_out"] = {"no_face": int((left_out["status"] == "no_face").sum()),
                           "error": int(left_out["status"].str.startswith("error").sum())}
    write_json(SPLIT_METRICS, summary)
    print(f"split: {len(videos)} videos -> " + ", ".join(
        f"{s} {int(counts[s].sum())}" for s in SPLITS) + f"; {len(left_out)} left out", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_command(main))
