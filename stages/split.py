"""DVC stage split: videos (never frames) to train, val and test.

split_mode grouped: stratified by label, and videos of one group (a fake and
the real videos it was made from) always share a split. split_mode official:
the dataset's own split (FaceForensics++'s train/val/test.json, Celeb-DF's
test list), with val carved by group from the official train when the
dataset has no val; auto: official when the data has one. Reads
data/faces.csv, writes data/split.csv and metrics/split.json (the mode, the
counts, and the videos left out upstream or by the official split).
"""
import argparse
import sys

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.files import read_table, write_json, write_text_atomic
from deepfake_dvc.labels import LABEL_INDEX, SPLITS
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import FACES_TABLE, SPLIT, SPLIT_METRICS
from deepfake_dvc.status import OK, left_out_counts

PARAMS = ("split_mode", "test_size", "val_size", "split_seed")


def hold_out(videos, fraction, seed, groups="group"):
    """A boolean mask: about `fraction` of the videos, whole groups, stratified by label."""
    folds = StratifiedGroupKFold(n_splits=max(2, round(1 / fraction)), shuffle=True,
                                 random_state=seed)
    _, held = next(folds.split(videos, videos["label"], videos[groups]))
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


def official_splits(videos, val_size, seed):
    """videos with a `split` column: their official split; when the dataset has no val,
    val is carved from the official train by group (by footage, a fake with its source,
    when the train's groups are too few: Celeb-DF's identities connect most videos)."""
    videos = videos.copy()
    videos["split"] = videos["official_split"]
    if (videos["split"] == "val").any():
        return videos
    train = videos[videos["split"] == "train"]
    try:
        val = hold_out(train, val_size, seed)
    except ValueError:
        log.warning(f"the official train split's {len(train)} videos form "
                    f"{train['group'].nunique()} groups, too few to carve val from; val is carved "
                    f"by footage (a fake with its source) instead, so a person may be in both "
                    f"train and val")
        val = hold_out(train.assign(footage=train["source"].where(train["source"] != "",
                                                                   train["path"])),
                       val_size, seed, groups="footage")
    videos.loc[val[val].index, "split"] = "val"
    return videos


def check_splits(videos, official=False):
    """The videos per label and split; DataError when a split lacks a class or (unless
    the split is the dataset's official one) a group crosses splits, which would leak a
    source's footage from training into test."""
    counts = pd.crosstab(videos["label"], videos["split"]).reindex(
        index=list(LABEL_INDEX), columns=SPLITS, fill_value=0)
    for label, row in counts.iterrows():
        if (row == 0).any():
            usable = int((videos["label"] == label).sum())
            raise DataError(f"class '{label}' has {usable} usable videos: too few to fill "
                            f"train, val and test ({row.to_dict()}); "
                            f"add videos or lower test_size/val_size")
    crossing = groups_across_splits(videos)
    if crossing and not official:
        raise DataError(f"group '{crossing[0]}' crosses splits")
    return counts


def groups_across_splits(videos):
    """The groups whose videos are in more than one split."""
    splits = videos.groupby("group")["split"].nunique()
    return splits[splits > 1].index.tolist()


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    table = read_table(FACES_TABLE)
    usable = table[table["status"] == OK]
    left_out = table[table["status"] != OK]
    for row in left_out.itertuples():
        log.warning(f"{row.path}: left out ({row.status})")
    official = use_official_split(params["split_mode"], usable)

    columns = ["id", "path", "label", "group", "source"]
    if official:
        unnamed = usable[usable["official_split"] == ""]
        if len(unnamed):
            log.warning(f"{len(unnamed)} videos are in no official split "
                        f"(e.g. {unnamed['path'].iloc[0]}); left out")
        named = usable[usable["official_split"] != ""]
        videos = official_splits(named[columns + ["official_split"]], params["val_size"],
                                 params["split_seed"]).drop(columns="official_split")
    else:
        videos = assign_splits(usable[columns], params["test_size"], params["val_size"],
                               params["split_seed"])
    counts = check_splits(videos, official)

    write_text_atomic(SPLIT, videos.to_csv(index=False))
    summary = {"mode": "official" if official else "grouped"}
    summary.update({split: {label: int(counts.loc[label, split]) for label in LABEL_INDEX}
                    for split in SPLITS})
    summary["left_out"] = left_out_counts(left_out["status"])
    if official:
        summary["left_out"]["not_in_official_split"] = len(unnamed)
        summary["groups_across_splits"] = len(groups_across_splits(videos))
    write_json(SPLIT_METRICS, summary)
    log.info(f"split ({summary['mode']}): {len(videos)} videos -> "
             + ", ".join(f"{s} {int(counts[s].sum())}" for s in SPLITS)
             + f"; {len(table) - len(videos)} left out")


def use_official_split(mode, videos):
    """Whether split_mode (auto, official, grouped) means the dataset's official split."""
    has_official = bool((videos["official_split"] != "").any())
    if mode == "official" and not has_official:
        raise ConfigError("split_mode is official, but the data has no official split "
                          "(FaceForensics++'s train/val/test.json or Celeb-DF's "
                          "List_of_testing_videos.txt); use grouped or auto")
    return mode == "official" or (mode == "auto" and has_official)


if __name__ == "__main__":
    sys.exit(run_stage(main))
