"""FaceForensics++ as its download script lays it out: originals and each method's fakes
at a compression, the people in each file name, the official train/val/test.json."""
import json

from deepfake_dvc.errors import DataError
from deepfake_dvc.labels import SPLITS
from deepfake_dvc.layouts import Layout, connected_groups, register, video_row, video_table
from deepfake_dvc.log import log
from deepfake_dvc.video_files import video_entries

FF_ORIGINALS, FF_FAKES = "original_sequences", "manipulated_sequences"
FF_SPLIT_FILES = tuple(f"{split}.json" for split in SPLITS)
FF_CONVENTION = {  # how FaceForensics++ names its videos, for a name that does not fit
    "real": "FaceForensics++'s convention (an original is 000, or an actor's 01__scene)",
    "fake": "FaceForensics++'s convention (a fake is 000_003, or actors' 01_02__scene__code)"}


def ff_names(stem, fake):
    """(the people in a FaceForensics++ video, its scene), or None for a name that does not
    fit: '000' or '000_003' (YouTube ids, the target first), '01__scene' or
    '01_02__scene__code' (DeepFakeDetection's actors)."""
    ids, *scene = stem.split("__")
    ids = ids.split("_")
    count = 2 if fake else 1
    if len(ids) != count or len(scene) not in (0, count) or not all(ids + scene):
        return None
    return [f"{'actor' if scene else 'youtube'} {i}" for i in ids], scene[0] if scene else ""

def _from_faceforensics(root, compression, methods):
    rows, people, footage = [], [], {}
    for kind in ("youtube", "actors"):
        for path in sorted(video_entries(root / FF_ORIGINALS / kind / compression / "videos")):
            row, who, scene = video_row(root, path, "real", ff_names(path.stem, fake=False),
                                        FF_CONVENTION["real"])
            rows.append(row)
            people.append(who)
            footage[(who[0], scene)] = row["path"]
    for method in methods:
        folder = root / FF_FAKES / method / compression / "videos"
        if not folder.is_dir():
            log.warning(f"no FaceForensics++ {method} videos in '{folder}'")
        for path in sorted(video_entries(folder)):
            row, who, scene = video_row(root, path, "fake", ff_names(path.stem, fake=True),
                                        FF_CONVENTION["fake"])
            rows.append(dict(row, source=footage.get((who[0], scene), "")))
            people.append(who)
    for row, group, split in zip(rows, connected_groups(people),
                                 ff_official_splits(root, people)):
        row.update(group=group, official_split=split)
    return video_table(rows, where=[row["path"] for row in rows])

def ff_official_splits(root, people):
    """Each video's split in FaceForensics++'s train/val/test.json (lists of YouTube id
    pairs), when the folder has them: '' for a video they do not name, or that has an id
    they name in more than one split."""
    files = [root / name for name in FF_SPLIT_FILES]
    if not any(f.is_file() for f in files):
        return [""] * len(people)
    present = {person for persons in people for person in persons}
    splits_of = {}  # id: the splits naming it
    for split, path in zip(SPLITS, files):
        pairs = read_pairs(path) if path.is_file() else []
        missing = sum(any(f"youtube {i}" not in present for i in pair) for pair in pairs)
        if missing:
            log.warning(f"{path}: {missing} of {len(pairs)} pairs name videos that are not in "
                        f"'{root}'; going on with the rest")
        for i in {i for pair in pairs for i in pair}:
            splits_of.setdefault(i, []).append(split)
    split_of = {f"youtube {i}": splits[0] for i, splits in splits_of.items() if len(splits) == 1}
    warn_ids_in_several_splits(root, splits_of)
    return [split_of.get(persons[0], "")
            if all(split_of.get(p) == split_of.get(persons[0]) for p in persons) else ""
            for persons in people]

def warn_ids_in_several_splits(root, splits_of):
    """Warn of the ids (id: the splits naming it) that more than one split names."""
    several = sorted(i for i, splits in splits_of.items() if len(splits) > 1)
    if several:
        named = ", ".join(f"{i} in {' and '.join(splits_of[i])}" for i in several[:5])
        log.warning(f"'{root}': {len(several)} ids are named in more than one of "
                    f"{', '.join(FF_SPLIT_FILES)} ({named}{', ...' if len(several) > 5 else ''}); "
                    f"their videos get no official split")

def read_pairs(path):
    """The [id, id] pairs of a FaceForensics++ split file; other entries are left out with
    a warning."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(entries, list):
        raise DataError(f'{path}: expected a list of id pairs such as [["071", "054"], ...]')
    pairs = [e for e in entries if is_id_pair(e)]
    others = [e for e in entries if not is_id_pair(e)]
    if others:
        log.warning(f"{path}: {len(others)} of {len(entries)} entries are not pairs of ids "
                    f"(e.g. {json.dumps(others[0])[:80]}); left out")
    return pairs

def is_id_pair(entry):
    """Whether an entry of a split file is a pair of ids, such as ["071", "054"]."""
    return isinstance(entry, list) and len(entry) == 2 and all(
        isinstance(i, str) and i for i in entry)


register(Layout("faceforensics", f"{FF_ORIGINALS}/ or {FF_FAKES}/ (FaceForensics++)",
                lambda root: (root / FF_ORIGINALS).is_dir() or (root / FF_FAKES).is_dir(),
                lambda root, ff_compression, ff_methods, **options: _from_faceforensics(
                    root, ff_compression, ff_methods)))
