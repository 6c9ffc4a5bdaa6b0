"""Evaluation metrics on hand-made predictions, checked against hand-computed values."""
import math

import pytest

from deepfake_dvc.scoring import classification_metrics


def test_metrics_match_hand_computed_values():
    y = [1, 1, 1, 1, 0, 0, 0, 0]
    p = [0.9, 0.8, 0.7, 0.3, 0.6, 0.2, 0.1, 0.05]
    m = classification_metrics(y, p, threshold=0.5)
    # predicted fake: 0.9 0.8 0.7 (fakes) and 0.6 (a real one); 0.3 is a missed fake
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (3, 1, 1, 3)
    assert m["tp"] + m["fp"] + m["fn"] + m["tn"] == m["count"] == 8
    assert (m["tp_pct"], m["fp_pct"], m["fn_pct"], m["tn_pct"]) == (37.5, 12.5, 12.5, 37.5)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["precision"] == pytest.approx(0.75)
    assert m["recall"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(0.75)
    # AUC: of the 16 (fake, real) pairs only (0.3, 0.6) is ranked wrong
    assert m["roc_auc"] == pytest.approx(15 / 16, abs=1e-6)
    # at threshold 0.6: FPR = 1/4 (0.6) and FNR = 1/4 (0.3): they meet at 0.25
    assert m["eer"] == pytest.approx(0.25, abs=1e-6)
    # log loss: mean of -log(p) for fakes and -log(1 - p) for reals
    expected = -sum(math.log(q if t else 1 - q) for t, q in zip(y, p)) / 8
    assert m["log_loss"] == pytest.approx(expected, abs=1e-5)


def test_one_class_only_leaves_ranking_scores_undefined():
    m = classification_metrics([0, 0, 0], [0.1, 0.6, 0.2], 0.5)
    assert (m["tn"], m["fp"]) == (2, 1)
    assert m["roc_auc"] is None and m["eer"] is None and m["average_precision"] is None
