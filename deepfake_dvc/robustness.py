"""How a model holds up under perturbations: the videos of each set (the training data's own
test split, every evaluation set), and the numbers of one set under one condition beside its
clean ones, with the model card's temperature and threshold (nothing refitted on perturbed
data). robust_faces makes the crops, robustness scores them."""
import numpy as np
import pandas as pd


from deepfake_dvc.figures import new_figure, save_figure
from deepfake_dvc.paths import EVAL_DIR, FACES_DIR, FACES_TABLE, OWN_TEST, robust_folder
from deepfake_dvc.perturbations import conditions
from deepfake_dvc.pictures import BANNER_RED, banner
from deepfake_dvc.robust_sets import own_test_videos
from deepfake_dvc.scoring import calibrated, headline, measured, score
from deepfake_dvc.status import NO_FACE, OK
from deepfake_dvc.tables import read_table

CLEAN = "clean"  # the condition name of the unchanged videos
SHOWN = {"frame_auc": "frame ROC AUC", "video_auc": "video ROC AUC",
         "video_acc": "video accuracy", "uncertain_share": "UNCERTAIN share",
         "unknown_share": "UNKNOWN share (no face)"}


def clean_tables(data_dir, eval_sets):
    """{set: (crops folder, table with id, path, label, status, frames)} of the unchanged
    videos: the own test split's (those robust_faces perturbs), then each evaluation set's."""
    ids = [row["id"] for row in own_test_videos(data_dir)]
    faces = read_table(FACES_TABLE).set_index("id")
    test = faces.loc[ids, ["path", "label", "status", "frames"]].reset_index()
    tables = {OWN_TEST: (FACES_DIR, test)}
    for name in eval_sets:
        tables[name] = (EVAL_DIR / name, read_table(EVAL_DIR / name / "faces.csv"))
    return tables


def perturbed_tables(set_name, entries):
    """{condition: (crops folder, table)} of a set under every condition of entries."""
    tables = {}
    for entry in entries:
        for condition in conditions(entry):
            folder = robust_folder(set_name, entry, condition.name)
            tables[condition.name] = (folder, read_table(folder / "faces.csv"))
    return tables


def share(part, whole):
    """part / whole rounded, or None when whole is 0."""
    return round(part / whole, 6) if whole else None


def condition_numbers(model, folder, table, decision, batch_size):
    """One set under one condition: ROC AUC, accuracy and ECE (the keys of metrics/test.json
    but its count of UNCERTAIN videos), the shares of readable videos called UNCERTAIN and
    UNKNOWN, of sampled frames with a face, and the readable videos' count."""
    readable = table[table["status"].isin([OK, NO_FACE])]
    with_faces = readable[readable["status"] == OK]
    numbers = dict(videos=len(readable),
                   unknown_share=share(len(readable) - len(with_faces), len(readable)))
    if with_faces.empty:
        return dict(frame_auc=None, video_auc=None, frame_acc=None, video_acc=None,
                    video_eer=None, frame_ece=None, uncertain_share=None, face_frame_share=0.0,
                    **numbers)
    frames, videos = calibrated(*score(model, with_faces, batch_size, folder), decision)
    found = frames.drop_duplicates(["id", "frame"]).shape[0]
    result = headline(measured(frames, videos, decision.threshold))
    del result["uncertain"]
    return dict(result, **numbers,
                uncertain_share=share(int((videos["verdict"] == "UNCERTAIN").sum()),
                                      len(readable)),
                face_frame_share=share(found, int(pd.to_numeric(readable["frames"]).sum())))


def robustness_png(sets, scope, path):
    """One panel per set: each condition's AUCs, video accuracy and shares of UNCERTAIN and
    UNKNOWN videos as grouped bars, the clean videos' first, under the model's banner."""
    widest = max(len(rows) for rows in sets.values())
    fig, axes = new_figure(max(7.0, 1.5 + 1.1 * widest), 0.8 + 3.4 * len(sets), rows=len(sets))
    axes = np.atleast_1d(axes)
    width = 0.8 / len(SHOWN)
    for ax, (name, rows) in zip(axes, sets.items()):
        for k, (key, label) in enumerate(SHOWN.items()):
            values = [np.nan if row[key] is None else row[key] for row in rows.values()]
            ax.bar(np.arange(len(rows)) + (k - len(SHOWN) / 2 + 0.5) * width, values, width,
                   label=label)
        clean = rows[CLEAN]["video_auc"]
        if clean is not None:
            ax.axhline(clean, color="black", linestyle="--", linewidth=0.8)
        tilted = len(rows) > 8
        ax.set(xticks=np.arange(len(rows)), ylim=(0, 1.05))
        ax.set_xticklabels(list(rows), rotation=45 if tilted else 0,
                           ha="right" if tilted else "center", fontsize=7)
        ax.set_title(f"{name}: each condition beside the clean videos (dashed: clean video "
                     f"AUC)", fontsize=9)
    warning = banner(scope)
    if warning:
        fig.suptitle(warning, fontsize=10, color=BANNER_RED)
    axes[-1].legend(fontsize="x-small", ncol=len(SHOWN), loc="upper center",
                    bbox_to_anchor=(0.5, -0.18 if tilted else -0.1))
    save_figure(fig, path)
