"""A model's scores on stored face crops, calibrated, and the metrics of them (scikit-learn's):
what evaluate reports for the test split and eval_score for every evaluation set."""
import numpy as np
import pandas as pd
from sklearn import metrics as skm

from deepfake_dvc.calibration import calibrate, calibration_metrics, equal_error_point
from deepfake_dvc.crops_file import load_faces
from deepfake_dvc.labels import LABEL_INDEX
from deepfake_dvc.paths import FACES_DIR


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


def score(model, videos, batch_size, folder=FACES_DIR):
    """(frames, videos): each face crop's and each video's raw P(fake), with the labels
    (the crops files in folder)."""
    from deepfake_dvc.model import fake_probabilities
    frame_rows, video_rows = [], []
    for video in videos.itertuples():
        faces = load_faces(video.id, folder)
        p_raw = fake_probabilities(model, faces["crops"], batch_size)
        y = LABEL_INDEX[video.label]
        frame_rows += [dict(id=video.id, frame=int(i), track=int(t), y=y, p_raw=float(p))
                       for i, t, p in zip(faces["frame_indices"], faces["tracks"], p_raw)]
        video_rows.append(dict(id=video.id, path=video.path, label=video.label, y=y,
                               faces=len(p_raw)))
    return pd.DataFrame(frame_rows), pd.DataFrame(video_rows)


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
