"""The evaluation's pictures: confusion matrix, ROC curves, reliability diagram."""
import numpy as np
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from deepfake_dvc.calibration import expected_calibration_error
from deepfake_dvc.figures import new_figure, save_figure
from deepfake_dvc.scoring import predicted


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
