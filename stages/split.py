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

from deepfake_dvc.files import write_json
from deepfake_dvc.labels import LABEL_INDEX, SPLITS
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import FACES_TABLE, SPLIT, SPLIT_METRICS
from deepfake_dvc.splitting import (
    assign_splits,
    check_splits,
    groups_across_splits,
    official_splits,
    use_official_split,
)
from deepfake_dvc.status import OK, left_out_counts
from deepfake_dvc.tables import SPLIT_COLUMNS, read_table, write_table

PARAMS = ("split_mode", "test_size", "val_size", "split_seed")


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

    write_table(SPLIT, videos, SPLIT_COLUMNS)
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


if __name__ == "__main__":
    sys.exit(run_stage(main))
