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

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from stages.common import (
    CARD,
    EVAL_LIVE,
    FACES_DIR,
    LABEL_INDEX,
    MODEL,
    PLOTS_DIR,
    PREDICTIONS,
    PREPROCESSING,
    SPLIT,
    SPLIT_METRICS,
    TEST_METRICS,
    TRAINING,
    DataError,
    log,
    new_figure,
    read_json,
    read_table,
    save_figure,
    write_json,
    write_text_atomic,
)
from stages.calibration import (
    THRESHOLD_RULE,
    Decision,
    calibrate,
    calibration_metrics,
    equal_error_point,
    expected_calibration_error,
    fit_temperature,
    write_card,
)
from stages.faces import load_faces
from stages.params import Preprocessing, read_params, run_stage

PARAMS = ("threshold", "uncertain_margin", "min_faces", "video_score", "batch_size")
NAMES = {index: label for label, index in LABEL_INDEX.items()}


def predicted(p_fake, threshold):
    """The predicted labels: 1 (fake) where P(fake) >= threshold, else 0 (real)."""
    return (np.asarray(p_fake) >= threshold).astype(int)


def classification_metrics(y_true, p_fake, threshold):
    """Confusion counts and percentages, and the usual scores, all from scikit-learn."""
    y_pred = predicted(p_fake, threshold)
    tn, fp, fn, tp = (int(v) for v in skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel())
    n = len(y_true)
    both = len(set(y_true)) == 2  # ranking scores need both classes
    out = dict(count=n, tp=tp, fp=fp, fn=fn, tn=tn,
               **{f"{k}_pct": round(100 * v / n, 2) for k, v in
                  dict(tp=tp, fp=fp, fn=fn, tn=tn).items()},
               accuracy=skm.accuracy_score(y_true, y_pred),
               precision=skm.precision_score(y_true, y_pred, zero_division=0),
               recall=skm.recall_score(y_true, y_pred, zero_division=0),
               f1=skm.f1_score(y_true, y_pred, zero_division=0),
               roc_auc=skm.roc_auc_score(y_true, p_fake) if both else None,
               average_precision=skm.average_precision_score(y_true, p_fake) if both else None,
               eer=equal_error_point(y_true, p_fake)[0] if both else None,
               log_loss=skm.log_loss(y_true, np.clip(p_fake, 1e-7, 1 - 1e-7), labels=[0, 1]))
    return {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in out.items()}


def confusion_png(table, threshold, path, title="test frames"):
    """The confusion matrix of a table's y and p_fake at threshold as a picture, counts and
    percentages in each cell."""
    cm = skm.confusion_matrix(table["y"], predicted(table["p_fake"], threshold), labels=[0, 1])
    fig, ax = new_figure(4.5, 4)
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, f"{v}\n{100 * v / cm.sum():.1f}%", ha="center", va="center",
                color="white" if v > cm.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["REAL", "FAKE"],
           yticklabels=["REAL", "FAKE"], xlabel="predicted", ylabel="actual", title=title)
    save_figure(fig, path)


def roc_png(levels, path, title="ROC, FAKE positive"):
    """The ROC curve of each level's table (frames, videos: y and p_fake), with its AUC."""
    fig, ax = new_figure(4.5, 4)
    for level, table in levels.items():
        y_true, p_fake = table["y"], table["p_fake"]
        if len(set(y_true)) == 2:
            fpr, tpr, _ = skm.roc_curve(y_true, p_fake)
            ax.plot(fpr, tpr, label=f"{level} (AUC {skm.roc_auc_score(y_true, p_fake):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=title)
    ax.legend(loc="lower right")
    save_figure(fig, path)


def reliability_png(y_true, curves, path):
    """Reliability diagram: the fraction fake against the mean P(fake), per bin of P(fake)."""
    fig, ax = new_figure(4.5, 4)
    ax.plot([0, 1], [0, 1], ":", color="grey", label="perfectly calibrated")
    for name, p_fake in curves.items():
        fraction, mean = calibration_curve(y_true, p_fake, n_bins=10)
        ece = expected_calibration_error(y_true, p_fake)
        ax.plot(mean, fraction, "o-", label=f"{name} (ECE {ece:.3f})")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean P(fake) in bin", ylabel="fraction fake in bin",
           title="reliability, test frames")
    ax.legend(loc="upper left")
    save_figure(fig, path)


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


def score(model, videos, img_size, batch_size, folder=FACES_DIR):
    """(frames, videos): each face crop's and each video's raw P(fake), with the labels
    (the crops files in folder)."""
    from stages.model import fake_probabilities
    frame_rows, video_rows = [], []
    for video in videos.itertuples():
        faces = load_faces(video.id, folder)
        p_raw = fake_probabilities(model, faces["crops"], img_size, batch_size)
        y = LABEL_INDEX[video.label]
        frame_rows += [dict(id=video.id, frame=int(i), track=int(t), y=y, p_raw=float(p))
                       for i, t, p in zip(faces["frame_indices"], faces["tracks"], p_raw)]
        video_rows.append(dict(id=video.id, path=video.path, label=video.label, y=y,
                               faces=len(p_raw)))
    return pd.DataFrame(frame_rows), pd.DataFrame(video_rows)


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


def calibrated(frames, videos, decision):
    """frames and videos with p_fake, the calibrated P(fake) (a video's: by video_score),
    and each video's verdict."""
    frames = frames.assign(p_fake=calibrate(frames["p_raw"], decision.temperature))

    def per_video(column):
        return videos["id"].map({video_id: decision.video_probability(part[column], part["track"])
                                 for video_id, part in frames.groupby("id")})

    videos = videos.assign(p_fake_raw=per_video("p_raw"), p_fake=per_video("p_fake"))
    return frames, videos.assign(verdict=[decision.verdict(p, n)
                                          for p, n in zip(videos["p_fake"], videos["faces"])])


def measured(frames, videos, threshold):
    """The test metrics of calibrated frames and videos (with verdicts)."""
    return dict(frames=level_metrics(frames, "p_raw", threshold),
                videos={**level_metrics(videos, "p_fake_raw", threshold),
                        "uncertain": int((videos["verdict"] == "UNCERTAIN").sum())})


def headline(report):
    """The few numbers `dvc metrics show` and `dvc exp show` list, of a full report (the
    same keys for the test split and every evaluation set: one row each)."""
    frames, videos = report["frames"], report["videos"]
    return dict(frame_auc=frames["roc_auc"], video_auc=videos["roc_auc"],
                frame_acc=frames["accuracy"], video_acc=videos["accuracy"],
                video_eer=videos["eer"], frame_ece=frames["ece"], uncertain=videos["uncertain"])


def level_metrics(table, raw, threshold):
    """Classification metrics of the calibrated P(fake), and calibration before and after."""
    return {**classification_metrics(table["y"], table["p_fake"], threshold),
            **calibration_metrics(table["y"], table[raw], table["p_fake"])}


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    split = read_table(SPLIT)
    test, val = (split[split["split"] == s] for s in ("test", "val"))
    if test.empty or val.empty:
        raise DataError(f"no test or no validation videos in {SPLIT}")
    img_size = Preprocessing.load(PREPROCESSING).img_size
    training = read_json(TRAINING)

    from stages.model import load_classifier
    model = load_classifier(MODEL)
    val_frames, _ = score(model, val, img_size, params["batch_size"])
    decision = decide(params, val_frames)
    frames, videos = calibrated(*score(model, test, img_size, params["batch_size"]), decision)

    threshold = decision.threshold
    report = dict(threshold=threshold, temperature=decision.temperature,
                  model_epoch=training["training"]["kept_epoch"],
                  **measured(frames, videos, threshold),
                  videos_left_out=read_json(SPLIT_METRICS)["left_out"])
    write_text_atomic(PREDICTIONS, videos.drop(columns="y").to_csv(index=False))
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
             f"({decision.threshold_rule}); {len(frames)} test frames, accuracy {f['accuracy']:.3f} "
             f"(TP {f['tp']}, FP {f['fp']}, FN {f['fn']}, TN {f['tn']}), ECE {f['ece_raw']:.3f} -> "
             f"{f['ece']:.3f}; {len(videos)} test videos, accuracy {v['accuracy']:.3f}, "
             f"{v['uncertain']} uncertain -> {CARD}, {EVAL_LIVE}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
