"""DVC stage generalization: the model on each evaluation set, next to its own test split.

Reads dvclive/evaluate/metrics.json (the training data's test split) and
metrics/eval/NAME.json for each NAME of eval_sets; writes
metrics/generalization.json (frame and video ROC AUC, accuracy and equal error
rate per set, the own test split first) and plots/generalization.png.
"""
import argparse
import sys

import numpy as np

from stages.common import (
    EVAL_METRICS,
    EVAL_SETS_METRICS,
    GENERALIZATION,
    PLOTS_DIR,
    DataError,
    log,
    new_figure,
    read_json,
    save_figure,
    write_json,
)
from stages.params import read_params, run_stage

PARAMS = ("eval_sets", "data_dir")
COLUMNS = [("frames", "roc_auc"), ("videos", "roc_auc"), ("frames", "accuracy"),
           ("videos", "accuracy"), ("frames", "eer"), ("videos", "eer")]


def summary_row(report):
    """The numbers of one set's metrics that the table shows (None: undefined, such as the
    AUC of one class)."""
    return {f"{level}_{key}": report[level].get(key) for level, key in COLUMNS} | {
        "frames": report["frames"]["count"], "videos": report["videos"]["count"]}


def generalization_png(rows, path):
    """Grouped bars, labelled with their values: each set's frame and video AUC, accuracy
    and equal error rate."""
    fig, ax = new_figure(max(6.0, 1.5 + 2.2 * len(rows)), 4.5)
    width = 0.8 / len(COLUMNS)
    for k, (level, key) in enumerate(COLUMNS):
        values = [row[f"{level}_{key}"] for row in rows.values()]
        bars = ax.bar(np.arange(len(rows)) + (k - len(COLUMNS) / 2 + 0.5) * width,
                      [np.nan if v is None else v for v in values], width,
                      label=f"{level} {key.replace('roc_auc', 'ROC AUC').replace('eer', 'EER')}")
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
    ax.set(xticks=np.arange(len(rows)), xticklabels=list(rows), ylim=(0, 1.08))
    ax.set_title("each set (own test split first): AUC and accuracy up, EER down", fontsize=9)
    ax.legend(fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    save_figure(fig, path)


def main(argv=None):
    argparse.ArgumentParser(prog="python -m stages.generalization",
                            description=__doc__).parse_args(argv)
    params = read_params(PARAMS)
    reports = {"own test split": EVAL_METRICS}
    reports.update({name: EVAL_SETS_METRICS / f"{name}.json" for name in params["eval_sets"]})
    missing = [str(path) for path in reports.values() if not path.is_file()]
    if missing:
        raise DataError(f"{', '.join(missing)} not found: run dvc repro")
    rows = {name: summary_row(read_json(path)) for name, path in reports.items()}
    write_json(GENERALIZATION, dict(trained_on=params["data_dir"], sets=rows))
    generalization_png(rows, PLOTS_DIR / "generalization.png")
    log.info("generalization: " + "; ".join(
        f"{name} frame AUC {row['frames_roc_auc']}" for name, row in rows.items()))


if __name__ == "__main__":
    sys.exit(run_stage(main))
