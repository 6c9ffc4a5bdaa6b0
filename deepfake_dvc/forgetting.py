"""What an update gained and what it forgot: the own test split's parts (each source's, and
with init_model the parent's test videos apart from the new ones) and every evaluation set,
scored by the model and, with init_model, by its parent, each with its own card's
calibration and threshold (the forgetting stage)."""
from deepfake_dvc.lineage import parent_files, parent_splits
from deepfake_dvc.paths import EVAL_DIR, FACES_DIR, data_sources, source_name
from deepfake_dvc.scoring import calibrated, headline, measured, score
from deepfake_dvc.status import OK
from deepfake_dvc.tables import read_table

OLD_TEST, NEW_TEST = "test: the parent's", "test: new"


def test_parts(test, manifest, record, data_dir):
    """{name: videos} of the own test split's parts: each source's (with several), and with a
    parent that listed its videos, its test videos (by content) and the others."""
    parts = {}
    if isinstance(data_dir, dict):
        names = test["path"].map(lambda p: source_name(p, data_dir))
        parts.update({f"test: {name}": test[names == name] for name in data_sources(data_dir)})
    if record.get("videos"):
        old = {digest for digest, split in parent_splits(record).items() if split == "test"}
        digests = dict(zip(manifest["path"], manifest["sha256"]))
        was_test = test["path"].map(lambda p: digests.get(p, "") in old)
        parts.update({OLD_TEST: test[was_test], NEW_TEST: test[~was_test]})
    return {name: videos for name, videos in parts.items() if len(videos)}


def evaluation_sets(eval_sets):
    """{name: (crops folder, its videos with faces)} of every evaluation set."""
    sets = {}
    for name in eval_sets:
        table = read_table(EVAL_DIR / name / "faces.csv")
        sets[name] = (EVAL_DIR / name, table[table["status"] == OK])
    return sets


def numbers(model, decision, folder, videos, batch_size):
    """The headline metrics (metrics/test.json's keys) of a model on videos' crops in folder,
    with decision's calibration and threshold, and the videos' count."""
    frames, scored = calibrated(*score(model, videos, batch_size, folder), decision)
    return dict(headline(measured(frames, scored, decision.threshold)), videos=len(videos))


def parent_model(record):
    """(model, Decision) of the parent the record names."""
    from deepfake_dvc.calibration import load_card
    from deepfake_dvc.model import load_classifier
    files = parent_files(record["model"])
    decision, _ = load_card(files["card"], files["model"], files["preprocessing"])
    return load_classifier(files["model"]), decision


def compared(sets, child, parent, batch_size):
    """{set: {child: numbers, parent: numbers or None}}; sets: {name: (folder, videos)},
    child and parent: (model, Decision) or None."""
    return {name: dict(child=numbers(*child, folder, videos, batch_size),
                       parent=numbers(*parent, folder, videos, batch_size) if parent else None)
            for name, (folder, videos) in sets.items()}


def own_test_sets(test, manifest, record, data_dir):
    """{name: (crops folder, videos)}: the whole own test split (with a parent), and its
    parts."""
    whole = {"own test split": test} if record.get("init_model", "none") != "none" else {}
    return {name: (FACES_DIR, videos) for name, videos in
            {**whole, **test_parts(test, manifest, record, data_dir)}.items()}


def not_at_hand(record, sets):
    """Why the parent's test videos are not measured, or None when they are (or there is no
    parent)."""
    if record.get("init_model", "none") == "none" or OLD_TEST in sets:
        return None
    if not record.get("videos"):
        return ("init_model has no videos.csv beside it (trained before train listed its "
                "videos): its test videos cannot be told apart, so what the update forgot is "
                "not measured")
    return ("none of the parent's test videos is in data_dir: what the update forgot is not "
            "measured; add the parent's data to data_dir (its test videos stay test), or name "
            "its test data in eval_sets")
