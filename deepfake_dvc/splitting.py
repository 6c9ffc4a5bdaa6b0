"""Videos (never frames) to train, val and test: stratified by label with every group (a
fake and the real videos it was made from, the people in it) in one split, or the dataset's
official split with val carved by group from its train."""
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.labels import LABEL_INDEX, SPLITS
from deepfake_dvc.log import log
from deepfake_dvc.paths import source_name


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


PINNED_ORDER = ("test", "val", "train")  # a group with several of a parent's splits: the first


def carried_over(videos, parent_split):
    """{group: split} of the groups holding a video a parent model had (parent_split: the
    parent's split of each video by path): the parent's test videos stay test and its
    training and validation videos stay out of test, each group as its first such video in
    test, val, train order."""
    pinned = {}
    for split in PINNED_ORDER:
        for group in videos.loc[videos["path"].map(parent_split.get) == split, "group"]:
            pinned.setdefault(group, split)
    return pinned


def split_source(videos, mode, test_size, val_size, seed):
    """One source's videos with a `split` column: its official split (split_mode official,
    or auto when it has one) or by group; (videos, official, videos in no official split)."""
    if not use_official_split(mode, videos):
        return assign_splits(videos, test_size, val_size, seed), False, 0
    named = videos[videos["official_split"] != ""]
    if len(named) < len(videos):
        log.warning(f"{len(videos) - len(named)} videos are in no official split "
                    f"(e.g. {videos.loc[videos['official_split'] == '', 'path'].iloc[0]}); "
                    f"left out")
    return official_splits(named, val_size, seed), True, len(videos) - len(named)


def split_by_source(videos, pinned, params):
    """(videos with a `split` column, {source: official or grouped}, videos in no official
    split): the groups of pinned ({group: split}, carried over from a parent) in their split,
    each source's other videos split on its own (split_source), in the order of videos."""
    fixed = videos["group"].isin(pinned)
    parts = [videos[fixed].assign(split=videos.loc[fixed, "group"].map(pinned))] \
        if fixed.any() else []
    rest = videos[~fixed]
    names = rest["path"].map(lambda p: source_name(p, params["data_dir"]))
    modes, unnamed = {}, 0
    for name in dict.fromkeys(names):
        part, official, left = split_source(rest[names == name], params["split_mode"],
                                            params["test_size"], params["val_size"],
                                            params["split_seed"])
        parts.append(part)
        modes[name], unnamed = "official" if official else "grouped", unnamed + left
    return pd.concat(parts).sort_index().drop(columns="official_split"), modes, unnamed


def use_official_split(mode, videos):
    """Whether split_mode (auto, official, grouped) means the dataset's official split."""
    has_official = bool((videos["official_split"] != "").any())
    if mode == "official" and not has_official:
        raise ConfigError("split_mode is official, but the data has no official split "
                          "(FaceForensics++'s train/val/test.json or Celeb-DF's "
                          "List_of_testing_videos.txt); use grouped or auto")
    return mode == "official" or (mode == "auto" and has_official)


def source_counts(videos, data_dir):
    """{source: {split: {label: videos}}} of a table with path, label and split columns; {}
    when data_dir is one folder."""
    if not isinstance(data_dir, dict):
        return {}
    names = videos["path"].map(lambda p: source_name(p, data_dir))
    return {name: {split: {label: int(((names == name) & (videos["split"] == split)
                                        & (videos["label"] == label)).sum())
                           for label in LABEL_INDEX} for split in SPLITS}
            for name in data_dir}
