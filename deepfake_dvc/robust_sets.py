"""The videos of each set that robust_faces perturbs and robustness scores: the training data's
own test split, and every evaluation set."""
from deepfake_dvc.errors import ConfigError
from deepfake_dvc.paths import EVAL_DIR, SPLIT, video_file
from deepfake_dvc.status import NO_FACE, OK
from deepfake_dvc.tables import read_table


def own_test_videos(data_dir):
    """The rows (id, path, label, status) of the training data's test split that have a
    video file (not the self-blended fakes synthesize_fakes makes from crops)."""
    test = read_table(SPLIT)
    return [dict(id=r.id, path=r.path, label=r.label, status=OK)
            for r in test[test["split"] == "test"].itertuples()
            if video_file(data_dir, r.path).is_file()]


def evaluation_videos(name, eval_sets):
    """(folder, rows) of evaluation set name: every video eval_faces could read, with a face
    or not (a condition is applied to each)."""
    if name not in eval_sets:
        raise ConfigError(f"no evaluation set '{name}' in eval_sets "
                          f"(sets: {', '.join(eval_sets) or 'none'})")
    table = read_table(EVAL_DIR / name / "faces.csv")
    return eval_sets[name], [dict(id=r.id, path=r.path, label=r.label,
                                  status=OK if r.status in (OK, NO_FACE) else r.status)
                             for r in table.itertuples()]
