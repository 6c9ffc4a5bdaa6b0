"""DVC stage eval_score NAME: the model measured on an evaluation set, as evaluate measures
its test split.

Scores the crops eval_faces made (data/eval/NAME/), calibrates them with the
temperature and decides with the threshold of the model card (models/card.json,
fitted on the training data's validation split: nothing is fitted on the
evaluation set), and writes metrics/eval/NAME.json (the headline numbers, the
keys of metrics/test.json), data/eval/NAME-report.json (the full report, the
keys of dvclive/evaluate/metrics.json), data/eval/NAME-predictions.csv (each
video's raw and calibrated P(fake) and verdict), plots/eval/NAME/confusion.png
and plots/eval/NAME/roc.png.
"""
import argparse
import sys

from deepfake_dvc.calibration import load_card
from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.files import write_json
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import CARD, EVAL_DIR, EVAL_SETS_METRICS, MODEL, PLOTS_DIR, PREPROCESSING
from deepfake_dvc.plots import confusion_png, roc_png
from deepfake_dvc.scoring import calibrated, headline, measured, score
from deepfake_dvc.status import OK, left_out_counts
from deepfake_dvc.tables import PREDICTION_COLUMNS, read_table, write_table

PARAMS = ("batch_size",)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m stages.eval_score", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="an evaluation set: a key of eval_sets in params.yaml")
    name = parser.parse_args(argv).name
    params = read_params(PARAMS)
    crops = EVAL_DIR / name
    if not (crops / "faces.csv").is_file():
        raise ConfigError(f"no crops of evaluation set '{name}' ({crops / 'faces.csv'} not "
                          f"found): name a key of eval_sets in params.yaml, and run dvc repro")
    table = read_table(crops / "faces.csv")
    videos = table[table["status"] == OK]
    if videos.empty:
        raise DataError(f"no video with faces in {crops / 'faces.csv'}")
    decision, _ = load_card(CARD, MODEL, PREPROCESSING)

    from deepfake_dvc.model import load_classifier
    model = load_classifier(MODEL)
    frames, videos = calibrated(*score(model, videos, params["batch_size"], crops), decision)
    report = dict(threshold=decision.threshold, temperature=decision.temperature,
                  **measured(frames, videos, decision.threshold),
                  videos_left_out=left_out_counts(table["status"]))
    write_json(EVAL_DIR / f"{name}-report.json", report)
    write_json(EVAL_SETS_METRICS / f"{name}.json", headline(report))
    write_table(EVAL_DIR / f"{name}-predictions.csv", videos, PREDICTION_COLUMNS)
    plots = PLOTS_DIR / "eval" / name
    plots.mkdir(parents=True, exist_ok=True)
    confusion_png(frames, decision.threshold, plots / "confusion.png", title=f"{name}: frames")
    roc_png({"frames": frames, "videos": videos}, plots / "roc.png",
            title=f"{name}: ROC, FAKE positive")
    f, v = report["frames"], report["videos"]
    log.info(f"eval_score {name}: {len(frames)} frames, AUC {f['roc_auc']}, accuracy "
             f"{f['accuracy']:.3f}; {len(videos)} videos, AUC {v['roc_auc']}, accuracy "
             f"{v['accuracy']:.3f} -> {EVAL_SETS_METRICS / f'{name}.json'}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
