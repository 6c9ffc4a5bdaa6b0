"""DVC stage split: videos (never frames) to train, val and test.

split_mode grouped: stratified by label, and videos of one group (a fake and
the real videos it was made from) always share a split. split_mode official:
the dataset's own split (FaceForensics++'s train/val/test.json, Celeb-DF's
test list), with val carved by group from the official train when the
dataset has no val; auto: official when the data has one. With several
sources (data_dir {name: folder}) each source is split on its own, by its
official split where it has one. With init_model, the videos its parent had
(by content: data/manifest.csv's SHA-256 against data/inputs/parent.json)
keep the parent's side: its test videos stay test, its training and
validation videos stay out of test, with their groups. Reads data/faces.csv,
writes data/split.csv and metrics/split.json (the mode, the counts, per
source with several, the videos carried over from the parent, and the videos
left out upstream or by the official split).
"""
import argparse
import sys

from deepfake_dvc.files import read_record, write_json
from deepfake_dvc.labels import LABEL_INDEX, SPLITS
from deepfake_dvc.lineage import parent_splits
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import FACES_TABLE, MANIFEST, PARENT_RECORD, SPLIT, SPLIT_METRICS
from deepfake_dvc.splitting import (
    carried_over,
    check_splits,
    groups_across_splits,
    source_counts,
    split_by_source,
)
from deepfake_dvc.status import OK, left_out_counts
from deepfake_dvc.tables import SPLIT_COLUMNS, read_table, write_table

PARAMS = ("data_dir", "split_mode", "test_size", "val_size", "split_seed")
COLUMNS = ["id", "path", "label", "group", "source", "official_split"]


def parent_split_by_path(parent):
    """{path: the parent's split} of the listed videos whose content the parent had."""
    by_content = parent_splits(parent)
    if not by_content:
        return {}
    manifest = read_table(MANIFEST, ("sha256",))
    return {path: by_content[digest] for path, digest in zip(manifest["path"], manifest["sha256"])
            if digest in by_content}


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    table = read_table(FACES_TABLE)
    usable = table[table["status"] == OK]
    left_out = table[table["status"] != OK]
    for row in left_out.itertuples():
        log.warning(f"{row.path}: left out ({row.status})")
    parent = read_record(PARENT_RECORD)
    if parent.get("init_model", "none") != "none" and parent["videos"] is None:
        log.warning(f"init_model '{parent['model']}' has no videos.csv beside it: its test "
                    f"videos cannot be told apart, so some may be trained on here")
    pinned = carried_over(usable, parent_split_by_path(parent))
    videos, modes, unnamed = split_by_source(usable[COLUMNS], pinned, params)
    official = "official" in modes.values()
    counts = check_splits(videos, official)

    write_table(SPLIT, videos, SPLIT_COLUMNS)
    summary = {"mode": modes[""] if list(modes) == [""] else (modes or
                                                             "carried over from init_model")}
    summary.update({split: {label: int(counts.loc[label, split]) for label in LABEL_INDEX}
                    for split in SPLITS})
    summary["left_out"] = left_out_counts(left_out["status"])
    if official:
        summary["left_out"]["not_in_official_split"] = unnamed
        summary["groups_across_splits"] = len(groups_across_splits(videos))
    if isinstance(params["data_dir"], dict):
        summary["sources"] = source_counts(videos, params["data_dir"])
    if pinned:
        summary["carried_over_from_init_model"] = {
            split: int((videos["group"].isin(pinned) & (videos["split"] == split)).sum())
            for split in SPLITS}
    write_json(SPLIT_METRICS, summary)
    log.info(f"split ({summary['mode']}): {len(videos)} videos -> "
             + ", ".join(f"{s} {int(counts[s].sum())}" for s in SPLITS)
             + f"; {len(table) - len(videos)} left out")


if __name__ == "__main__":
    sys.exit(run_stage(main))
