"""DVC stage evaluate: calibration on the validation split, then the test split (FAKE positive).

Fits a temperature to the validation frames' scores (and with threshold: auto,
the threshold), then measures the test frames and videos with calibrated
probabilities. Reads models/, data/split.csv and data/faces/; writes
models/card.json (the model card check reads: train's record, the
calibration, the decision rule, the test metrics and the model's scope),
data/predictions.csv (each test video's raw and calibrated P(fake) and
verdict), plots/confusion.png, plots/roc.png and plots/reliability.png, and
metrics/test.json (the headline numbers `dvc metrics show` lists), and through
DVCLive in dvclive/evaluate/: the full test report (metrics.json) and the ROC,
precision-recall, confusion and calibration data of frames and videos (their
plot definitions are in dvc.yaml).
"""
import argparse
import sys

from deepfake_dvc.calibration import (
    THRESHOLD_RULE,
    Decision,
    calibrate,
    calibration_metrics,
    equal_error_point,
    fit_temperature,
    write_card,
)
from deepfake_dvc.errors import DataError
from deepfake_dvc.files import read_json, write_json
from deepfake_dvc.labels import LABEL_INDEX
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import (
    CARD,
    EVAL_LIVE,
    MODEL,
    PLOTS_DIR,
    PREDICTIONS,
    PREPROCESSING,
    SPLIT,
    SPLIT_METRICS,
    TEST_METRICS,
    TRAINING,
)
from deepfake_dvc.plots import confusion_png, reliability_png, roc_png
from deepfake_dvc.scoring import calibrated, headline, measured, predicted, score
from deepfake_dvc.tables import PREDICTION_COLUMNS, read_table, write_table

PARAMS = ("threshold", "uncertain_margin", "min_faces", "video_score", "batch_size")
NAMES = {index: label for label, index in LABEL_INDEX.items()}


def log_metrics(live, metrics, prefix=""):
    """Every number in metrics through DVCLive (nested keys as a/b); None (undefined) left out."""
    for key, value in metrics.items():
        if isinstance(value, dict):
            log_metrics(live, value, f"{prefix}{key}/")
        elif value is not None:
            live.log_metric(f"{prefix}{key}", value, plot=False)


def log_plots(live, levels, threshold):
    """DVCLive's confusion, ROC and precision-recall data for each level (frames, videos),
    and the frames' calibration curve. DVCLive writes their definitions into dvc.yaml, so
    every run logs the same plots under the same titles (split puts both classes in test)."""
    for level, table in levels.items():
        y, p_fake = table["y"], table["p_fake"]
        live.log_sklearn_plot("confusion_matrix", y.map(NAMES),
                              [NAMES[label] for label in predicted(p_fake, threshold)],
                              name=f"confusion/{level}",
                              title=f"Confusion, test {level} at the threshold",
                              x_label="actual", y_label="predicted")
        live.log_sklearn_plot("roc", y, p_fake, name=f"roc/{level}", drop_intermediate=True,
                              title=f"ROC, test {level} (FAKE positive)")
        live.log_sklearn_plot("precision_recall", y, p_fake, name=f"precision_recall/{level}",
                              drop_intermediate=True,
                              title=f"Precision-recall, test {level} (FAKE positive)")
    live.log_sklearn_plot("calibration", levels["frames"]["y"], levels["frames"]["p_fake"],
                          name="calibration/frames", n_bins=10,
                          title="Calibration, test frames (calibrated P(fake))")


def decide(params, val_frames):
    """The Decision fitted on the validation frames: temperature, then threshold."""
    temperature = fit_temperature(val_frames["y"], val_frames["p_raw"])
    if params["threshold"] == "auto":
        _, threshold = equal_error_point(val_frames["y"],
                                         calibrate(val_frames["p_raw"], temperature))
        rule = THRESHOLD_RULE
    else:
        threshold, rule = params["threshold"], "set in params.yaml"
    return Decision(temperature, threshold, rule, params["uncertain_margin"], params["min_faces"],
                    params["video_score"])


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    split = read_table(SPLIT)
    test, val = (split[split["split"] == s] for s in ("test", "val"))
    if test.empty or val.empty:
        raise DataError(f"no test or no validation videos in {SPLIT}")
    training = read_json(TRAINING)

    from deepfake_dvc.model import load_classifier
    model = load_classifier(MODEL)
    val_frames, _ = score(model, val, params["batch_size"])
    decision = decide(params, val_frames)
    frames, videos = calibrated(*score(model, test, params["batch_size"]), decision)

    threshold = decision.threshold
    report = dict(threshold=threshold, temperature=decision.temperature,
                  model_epoch=training["training"]["kept_epoch"],
                  **measured(frames, videos, threshold),
                  videos_left_out=read_json(SPLIT_METRICS)["left_out"])
    write_table(PREDICTIONS, videos, PREDICTION_COLUMNS)
    val_p = calibrate(val_frames["p_raw"], decision.temperature)
    write_card(CARD, MODEL, PREPROCESSING, training, decision, test={
        level: {k: report[level][k] for k in ("count", "accuracy", "roc_auc", "eer", "ece")}
        for level in ("frames", "videos")}, calibration=dict(
            method="temperature scaling (Guo et al. 2017), fitted on the validation frames",
            validation_frames=len(val_frames),
            **calibration_metrics(val_frames["y"], val_frames["p_raw"], val_p)))

    levels = {"frames": frames, "videos": videos}
    from dvclive import Live
    with Live(str(EVAL_LIVE), dvcyaml=None, save_dvc_exp=False) as live:  # dvc.yaml is ours
        log_metrics(live, report)
        log_plots(live, levels, threshold)
    write_json(TEST_METRICS, headline(report))
    confusion_png(frames, threshold, PLOTS_DIR / "confusion.png")
    roc_png(levels, PLOTS_DIR / "roc.png")
    reliability_png(frames["y"], {"raw": frames["p_raw"], "calibrated": frames["p_fake"]},
                    PLOTS_DIR / "reliability.png")
    f, v = report["frames"], report["videos"]
    log.info(f"evaluate: temperature {decision.temperature:.3f}, threshold {threshold:.3f} "
             f"({decision.threshold_rule}); {len(frames)} test frames, accuracy "
             f"{f['accuracy']:.3f} (TP {f['tp']}, FP {f['fp']}, FN {f['fn']}, TN {f['tn']}), "
             f"ECE {f['ece_raw']:.3f} -> {f['ece']:.3f}; {len(videos)} test videos, accuracy "
             f"{v['accuracy']:.3f}, {v['uncertain']} uncertain -> {CARD}, {EVAL_LIVE}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
