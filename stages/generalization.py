"""DVC stage generalization: the model on each evaluation set, next to its own test split.

Reads metrics/test.json (the headline numbers of the training data's test
split), metrics/eval/NAME.json for each NAME of eval_sets, metrics/forgetting.json
(the test split's parts: each source's, the parent's test videos and the new
ones; and with init_model the parent's numbers on every set) and the model
card; writes metrics/generalization.json (the headline numbers of every set,
the own test split first, and with init_model the parent's beside them) and
plots/generalization.png, marked with the model's scope: with init_model, a
second panel sets the parent and the model side by side on each set, what the
update gained and what it forgot. The pipeline's last stage: its last line
says where the results are.
"""
import argparse
import sys

import numpy as np

from deepfake_dvc.calibration import load_card, scope_mark
from deepfake_dvc.errors import DataError
from deepfake_dvc.figures import new_figure, save_figure
from deepfake_dvc.files import read_json, write_json
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import (
    CARD,
    EVAL_SETS_METRICS,
    FORGETTING,
    GENERALIZATION,
    MODEL,
    PLOTS_DIR,
    PREPROCESSING,
    TEST_METRICS,
)
from deepfake_dvc.pictures import BANNER_RED, banner

PARAMS = ("eval_sets", "data_dir")
BARS = {"frame_auc": "frame ROC AUC", "video_auc": "video ROC AUC", "frame_acc": "frame accuracy",
        "video_acc": "video accuracy", "video_eer": "video EER"}
NEXT_STEPS = ("results: `dvc metrics show` (headline; the full report: dvclive/evaluate/"
              "metrics.json), `dvc plots show` (every plot, offline), models/card.json (what "
              "the model is worth); is a video fake? python -m stages.check VIDEO")


def generalization_png(rows, scope, path, parent=None):
    """Grouped bars, labelled with their values: each set's AUC, accuracy and EER, under the
    banner of the model's scope; with parent ({set: the parent's numbers}), a second panel of
    the parent's and the model's AUCs on each of those sets."""
    fig, axes = new_figure(max(6.0, 1.5 + 2.2 * len(rows)), 4.5 * (2 if parent else 1),
                           rows=2 if parent else 1)
    ax = axes[0] if parent else axes
    bars_of(ax, rows, BARS)
    title = "each set (own test split first): AUC and accuracy up, EER down"
    warning = banner(scope)
    ax.set_title(f"{warning}\n{title}" if warning else title, fontsize=9,
                 color=BANNER_RED if warning else "black")
    ax.legend(fontsize="small", ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    if parent:
        pairs = {name: {**{f"parent {k}": v for k, v in parent[name].items()},
                        **{f"model {k}": v for k, v in rows[name].items()}} for name in parent}
        bars_of(axes[1], pairs, {f"{who} {key}": f"{who}: {BARS[key]}" for key in
                                 ("frame_auc", "video_auc") for who in ("parent", "model")})
        axes[1].set_title("the parent (init_model) and this model on each set: what the update "
                          "gained and what it forgot", fontsize=9)
        axes[1].legend(fontsize="small", ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    save_figure(fig, path)


def bars_of(ax, rows, shown):
    """Grouped bars of rows ({set: numbers}), one bar per key of shown ({key: label})."""
    width = 0.8 / len(shown)
    for k, (key, label) in enumerate(shown.items()):
        values = [row[key] for row in rows.values()]
        bars = ax.bar(np.arange(len(rows)) + (k - len(shown) / 2 + 0.5) * width,
                      [np.nan if v is None else v for v in values], width, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
    ax.set(xticks=np.arange(len(rows)), xticklabels=list(rows), ylim=(0, 1.08))


def main(argv=None):
    argparse.ArgumentParser(prog="python -m stages.generalization",
                            description=__doc__).parse_args(argv)
    params = read_params(PARAMS)
    reports = {"own test split": TEST_METRICS}
    reports.update({name: EVAL_SETS_METRICS / f"{name}.json" for name in params["eval_sets"]})
    missing = [str(path) for path in reports.values() if not path.is_file()]
    if missing:
        raise DataError(f"{', '.join(missing)} not found: run dvc repro")
    rows = {name: read_json(path) for name, path in reports.items()}
    forgetting = read_json(FORGETTING)
    compared = forgetting["sets"]
    rows.update({name: {k: v for k, v in row["child"].items() if k != "videos"}
                 for name, row in compared.items() if name not in rows})
    parent = {name: {k: v for k, v in row["parent"].items() if k != "videos"}
              for name, row in compared.items() if row["parent"]}
    _, found = load_card(CARD, MODEL, PREPROCESSING)
    scope = dict(found, mark=scope_mark(found))
    result = dict(trained_on=params["data_dir"], scope=scope["mark"], sets=rows)
    if forgetting["parent"]:
        result.update(parent=dict(model=forgetting["parent"]["model"],
                                  trained_on=forgetting["parent"]["trained_on"], sets=parent),
                      forgetting_not_measured=forgetting["not_measured"])
    write_json(GENERALIZATION, result)
    generalization_png(rows, scope, PLOTS_DIR / "generalization.png", parent or None)
    log.info("generalization: " + "; ".join(
        f"{name} frame AUC {row['frame_auc']}" for name, row in rows.items()))
    log.info(NEXT_STEPS)


if __name__ == "__main__":
    sys.exit(run_stage(main))
