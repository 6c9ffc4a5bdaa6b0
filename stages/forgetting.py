"""DVC stage forgetting: what an update gained and what it forgot.

Scores the own test split's parts (each source's with several; with
init_model, the parent's test videos found in the data, by content, apart from
the new ones) and every evaluation set with the model and, with init_model,
with its parent, each calibrated and decided by its own card. Writes
metrics/forgetting.json ({set: {child, parent}} of metrics/test.json's keys,
with the parent's record, and why forgetting is not measured when the parent's
test videos are not at hand), which generalization shows side by side. With
one folder and no init_model there is nothing to compare: it writes that, and
loads no model.
"""
import argparse
import sys

from deepfake_dvc.calibration import load_card
from deepfake_dvc.files import read_record, write_json
from deepfake_dvc.forgetting import (
    compared,
    evaluation_sets,
    not_at_hand,
    own_test_sets,
    parent_model,
)
from deepfake_dvc.lineage import lineage
from deepfake_dvc.log import log
from deepfake_dvc.params import read_params, run_stage
from deepfake_dvc.paths import (
    CARD,
    FORGETTING,
    MANIFEST,
    MODEL,
    PARENT_RECORD,
    PREPROCESSING,
    SPLIT,
)
from deepfake_dvc.tables import read_table

PARAMS = ("init_model", "data_dir", "eval_sets", "batch_size")


def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = read_params(PARAMS)
    record = read_record(PARENT_RECORD)
    split = read_table(SPLIT)
    test = split[split["split"] == "test"]
    sets = own_test_sets(test, read_table(MANIFEST, ("sha256",)), record, params["data_dir"])
    has_parent = params["init_model"] != "none"
    if has_parent:
        sets.update(evaluation_sets(params["eval_sets"]))
    result = dict(parent=lineage(record), not_measured=not_at_hand(record, sets), sets={})
    if sets:
        from deepfake_dvc.model import load_classifier
        decision, _ = load_card(CARD, MODEL, PREPROCESSING)
        child = (load_classifier(MODEL), decision)
        result["sets"] = compared(sets, child, parent_model(record) if has_parent else None,
                                  params["batch_size"])
    write_json(FORGETTING, result)
    log.info("forgetting: " + ("; ".join(
        f"{name} video AUC {row['child']['video_auc']}"
        + (f" (parent {row['parent']['video_auc']})" if row["parent"] else "")
        for name, row in result["sets"].items()) or "nothing to compare (one data folder, no "
        "init_model)") + f" -> {FORGETTING}")
    if result["not_measured"]:
        log.warning(f"forgetting: {result['not_measured']}")


if __name__ == "__main__":
    sys.exit(run_stage(main))
