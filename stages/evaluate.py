"""DVC stage evaluate: the test split, frame by frame and video by video (FAKE is positive).

Reads models/, data/split.csv and data/faces/; writes metrics/eval.json,
data/predictions.csv (each test video's fake probability), plot data
plots/confusion.csv and plots/roc.csv, and plots/confusion.png and plots/roc.png.
"""
import argparse
import sys

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from stages.common import (
    EVAL_METRICS,
    LABEL_INDEX,
    MODEL,
    PLOTS_DIR,
    PREDICTIONS,
    PREPROCESSING,
    SPLIT,
    SPLIT_METRICS,
    DataError,
    new_figure,
    read_json,
    read_table,
    run_command,
    save_figure,
    write_json,
    write_text_atomic,
)
from stages.faces import load_faces
from stages.params import Preprocessing, read_params

PARAMS = ("threshold", "batch_size")
NAMES = {index: label for label, index in LABEL_INDEX.items()}


def equal_error_rate(y_true, p_fake):
    """The error rate where false positive and false negative rates meet on the ROC curve."""
    fpr, tpr, _ = skm.roc_curve(y_true, p_fake)
    i = np.argmin(np.abs((1 - tpr) - fpr))
    return float((fpr[i] + 1 - tpr[i]) / 2)


def classification_metrics(y_true, p_fake, threshold):
    """Confusion counts and percentages, and the usual scores, all from scikit-learn."""
    y_pred = (np.asarray(p_fake) >= threshold).astype(int)
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
               eer=equal_error_rate(y_true, p_fake) if both else None,
               log_loss=skm.log_loss(y_true, np.clip(p_fake, 1e-7, 1 - 1e-7), labels=[0, 1]))
    return {k: (round(float(v), 6) if isinstance(v, float) else v) for k, v in out.items()}


def confusion_png(y_true, y_pred, path):
    """The confusion matrix as a picture, counts and percentages in each cell."""
    cm = skm.confusion_matrix(y_true, y_pred, labels=[0, 1])
    fig, ax = new_figure(4.5, 4)
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, f"{v}\n{100 * v / cm.sum():.1f}%", ha="center", va="center",
                color="white" if v > cm.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["REAL", "FAKE"],
           yticklabels=["REAL", "FAKE"], xlabel="predicted", ylabel="actual",
           title="test frames")
    save_figure(fig, path)


def roc_png(curves, path):
    """ROC curves (frame and video level) with their AUC."""
    fig, ax = new_figure(4.5, 4)
    for level, (y_true, p_fake) in curves.items():
        if len(set(y_true)) == 2:
            fpr, tpr, _ = skm.roc_curve(y_true, p_fake)
            ax.plot(fpr, tpr, label=f"{level} (AUC {skm.roc_auc_score(y_true, p_fake):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, FAKE positive")
    ax.legend(loc="lower right")
    save_figure(fig, path)


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)

    split = read_table(SPLIT)
    test = split[split["split"] == "test"]
    if test.empty:
        raise DataError(f"no test videos in {SPLIT}")
    img_size = Preprocessing.load(PREPROCESSING).img_size

    from stages.model import fake_probabilities, load_classifier, video_probability
    model = load_classifier(MODEL)
    frame_rows, video_rows = [], []
    for video in test.itertuples():
        faces = load_faces(video.id)
        crops, indices = faces["crops"], faces["frame_indices"]
        p_fake = fake_probabilities(model, crops, img_size, params["batch_size"])
        y = LABEL_INDEX[video.label]
        frame_rows += [dict(id=video.id, frame=int(i), y=y, p_fake=float(p))
                       for i, p in zip(indices, p_fake)]
        video_rows.append(dict(id=video.id, path=video.path, label=video.label, y=y,
                               faces=len(crops), p_fake=video_probability(p_fake)))
    frames, videos = pd.DataFrame(frame_rows), pd.DataFrame(video_rows)

    threshold = params["threshold"]
    left_out = read_json(SPLIT_METRICS)["left_out"]
    report = dict(threshold=threshold,
                  frames=classification_metrics(frames["y"], frames["p_fake"], threshold),
                  videos=classification_metrics(videos["y"], videos["p_fake"], threshold),
                  videos_left_out=left_out)
    write_json(EVAL_METRICS, report)
    write_text_atomic(PREDICTIONS, videos.drop(columns="y").to_csv(index=False))

    frame_pred = (frames["p_fake"] >= threshold).astype(int)
    write_text_atomic(PLOTS_DIR / "confusion.csv", pd.DataFrame(dict(
        actual=frames["y"].map(NAMES), predicted=frame_pred.map(NAMES))).to_csv(index=False))
    if frames["y"].nunique() == 2:
        fpr, tpr, _ = skm.roc_curve(frames["y"], frames["p_fake"])
    else:
        fpr, tpr = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    write_text_atomic(PLOTS_DIR / "roc.csv", pd.DataFrame(dict(fpr=fpr, tpr=tpr)).to_csv(index=False))
    confusion_png(frames["y"], frame_pred, PLOTS_DIR / "confusion.png")
    roc_png({"frames": (frames["y"], frames["p_fake"]), "videos": (videos["y"], videos["p_fake"])},
            PLOTS_DIR / "roc.png")
    f, v = report["frames"], report["videos"]
    print(f"evaluate: {len(frames)} test frames, accuracy {f['accuracy']:.3f} "
          f"(TP {f['tp']}, FP {f['fp']}, FN {f['fn']}, TN {f['tn']}); "
          f"{len(videos)} test videos, accuracy {v['accuracy']:.3f}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run_command(main))
