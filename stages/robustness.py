"""DVC stage robustness: how the model holds up when its videos are re-encoded, shrunk,
blurred or noisy.

Scores the crops robust_faces made of each set (the training data's own test
split, every evaluation set) under each condition of perturbations, and the
set's unchanged crops beside them, with the temperature and threshold of the
model card (fitted on clean validation data: nothing is refitted on perturbed
data). Writes metrics/robustness.json (per set and condition: frame and video
ROC AUC, accuracy, ECE, the shares of videos called UNCERTAIN and UNKNOWN and
of sampled frames with a face; `dvc metrics diff` compares two models) and
plots/robustness.png, marked with the model's scope.
"""
import argparse
import sys

from deepfake_dvc.calibration import load_card, scope_mark
from deepfake_dvc.files import write_json
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import CARD, MODEL, PLOTS_DIR, PREPROCESSING, ROBUSTNESS
from deepfake_dvc.robustness import (CLEAN, clean_tables, condition_numbers, perturbed_tables,
                                     robustness_png)

PARAMS = ("perturbations", "eval_sets", "data_dir", "batch_size")


def main(argv=None):
    argparse.ArgumentParser(prog="python -m stages.robustness",
                            description=__doc__).parse_args(argv)
    params = read_params(PARAMS)
    decision, found = load_card(CARD, MODEL, PREPROCESSING)
    from deepfake_dvc.model import load_classifier
    model = load_classifier(MODEL)
    sets = {}
    for name, clean in clean_tables(params["data_dir"], params["eval_sets"]).items():
        tables = {CLEAN: clean, **perturbed_tables(name, params["perturbations"])}
        sets[name] = {condition: condition_numbers(model, folder, table, decision,
                                                   params["batch_size"])
                      for condition, (folder, table) in tables.items()}
        log.info(f"robustness {name}: " + "; ".join(
            f"{condition} video AUC {row['video_auc']}" for condition, row in sets[name].items()))
    scope = dict(found, mark=scope_mark(found))
    write_json(ROBUSTNESS, dict(scope=scope["mark"], threshold=decision.threshold,
                                temperature=decision.temperature, sets=sets))
    robustness_png(sets, scope, PLOTS_DIR / "robustness.png")


if __name__ == "__main__":
    sys.exit(run_stage(main))
