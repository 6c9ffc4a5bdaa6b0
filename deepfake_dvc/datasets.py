"""Which videos a data_dir holds, as the field's datasets are downloaded: each video's
label, group (what must share a split), source (the real footage a fake was made
from) and official split.

Layouts: real/ and fake/ subfolders; labels.csv (path,label[,group], or the DFDC
public test set's filename,label); DFDC's metadata.json; FaceForensics++ as its
download script lays it out; Celeb-DF (v1, v2).
"""
import fnmatch
import hashlib
import json
import os
import warnings
from pathlib import Path

import pandas as pd

from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.files import slug
from deepfake_dvc.labels import DERIVED, LABEL_INDEX
from deepfake_dvc.log import log
from deepfake_dvc.params import FF_METHODS
from deepfake_dvc.paths import LABELS_CSV

VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
LABELS = tuple(LABEL_INDEX)
SPLITS = ("train", "val", "test")
COLUMNS = ["path", "label", "group", "source", "official_split"]
DFDC_METADATA = "metadata.json"

FF_ORIGINALS, FF_FAKES = "original_sequences", "manipulated_sequences"
FF_SPLIT_FILES = tuple(f"{split}.json" for split in SPLITS)
CELEB_FOLDERS = ("Celeb-real", "YouTube-real", "Celeb-synthesis")
CELEB_TEST_LIST = "List_of_testing_videos.txt"
FF_CONVENTION = {  # how FaceForensics++ names its videos, for a name that does not fit
    "real": "FaceForensics++'s convention (an original is 000, or an actor's 01__scene)",
    "fake": "FaceForensics++'s convention (a fake is 000_003, or actors' 01_02__scene__code)"}
CELEB_CONVENTION = "Celeb-DF's convention (Celeb-real idN_NNNN, Celeb-synthesis idN_idM_NNNN)"
DFDC_TEST_COLUMNS = ["filename", "label"]  # the public test set's labels.csv; 1 is fake


MARKS = {  # what marks each layout (params.DATASETS), in the order auto looks for them
    "labels": f"{LABELS_CSV} (path,label[,group]; or DFDC's test set filename,label)",
    "dfdc": f"{DFDC_METADATA} (DFDC)",
    "faceforensics": f"{FF_ORIGINALS}/ or {FF_FAKES}/ (FaceForensics++)",
    "celeb-df": "Celeb-real/, YouTube-real/ or Celeb-synthesis/ (Celeb-DF)",
    "folders": "real/ or fake/ subfolders",
}


def find_layout(root, dataset="auto"):
    """The layout of the folder root: dataset, checked, or with auto the first whose
    mark root has."""
    marked = {"labels": (root / LABELS_CSV).is_file(),
              "dfdc": (root / DFDC_METADATA).is_file(),
              "faceforensics": (root / FF_ORIGINALS).is_dir() or (root / FF_FAKES).is_dir(),
              "celeb-df": any((root / folder).is_dir() for folder in CELEB_FOLDERS),
              "folders": any((root / label).is_dir() for label in LABELS)}
    if dataset != "auto":
        if not marked[dataset]:
            raise DataError(f"dataset '{dataset}': '{root}' has no {MARKS[dataset]}")
        return dataset
    for layout, present in marked.items():
        if present:
            return layout
    raise DataError(f"'{root}' matches no dataset layout: looked for "
                    + "; ".join(MARKS.values()))


def connected_groups(people):
    """One group name per video: videos that share a person, directly or through other
    videos, share a group (its first person in sorted order)."""
    parent = {}

    def root_of(person):
        parent.setdefault(person, person)
        while parent[person] != person:
            parent[person] = parent[parent[person]]
            person = parent[person]
        return person

    for persons in people:
        for other in persons[1:]:
            a, b = sorted((root_of(persons[0]), root_of(other)))
            parent[b] = a
    return [root_of(persons[0]) for persons in people]


def list_videos(data_dir, dataset="auto", ff_compression="c23", ff_methods=FF_METHODS):
    """A table (path, label, group, source, official_split, status) of the videos under
    data_dir, one row per file.

    dataset is the layout (auto: found from the folder). Paths are normalised
    and relative to data_dir. A row that cannot be used (outside data_dir,
    unknown label, a file name that does not fit the layout's convention) has
    status 'error: <why>' and a warning; the others have status 'ok'.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError(f"data_dir '{data_dir}' does not exist or is not a folder "
                          f"(set data_dir in params.yaml)")
    layout = find_layout(root, dataset)
    table = {"labels": lambda: _from_csv(root / LABELS_CSV),
             "dfdc": lambda: _from_dfdc(root / DFDC_METADATA),
             "faceforensics": lambda: _from_faceforensics(root, ff_compression, ff_methods),
             "celeb-df": lambda: _from_celeb_df(root),
             "folders": lambda: _from_folders(root)}[layout]()
    if table.empty:
        raise DataError(f"no videos found in '{data_dir}' (read as {MARKS[layout]})")
    table["label"] = table["label"].str.strip().str.lower()
    table["path"] = [inside(root, p) for p in table["path"]]
    table["status"] = [row_problem(row) for row in table.itertuples()]
    for row in table[table["status"] != "ok"].itertuples():
        log.warning(f"{row.where}: {row.status[len('error: '):]}; skipped")
    table = one_row_per_file(root, table)
    table["path"] = table["path"].where(table["status"] == "ok", table["raw_path"])
    return table[COLUMNS + ["status"]].reset_index(drop=True)


def inside(root, path):
    """path as a normalised path relative to root, or '' when it leads outside root."""
    if not path:
        return ""
    root = Path(root).absolute()
    relative = os.path.relpath(os.path.normpath(root / path), root)
    return "" if relative == ".." or relative.startswith("../") else Path(relative).as_posix()


def row_problem(row):
    """'ok', or 'error: <why>' for a listed row that cannot be used."""
    if row.problem:
        return f"error: {row.problem}"
    if not row.path:
        return ("error: empty path" if not row.raw_path else
                "error: outside data_dir (DVC does not track it; move the video into data_dir)")
    if row.label not in LABELS:
        return f"error: unknown label '{row.label}' (expected real or fake)"
    return "ok"


def file_identity(root, path):
    """The file a path ends at, links resolved: two paths of one file give one identity."""
    return os.path.realpath(Path(root) / path)


def one_row_per_file(root, table):
    """table with each file once: a file listed twice keeps its first row.

    Listed twice with different labels is an error naming both rows. A group
    or source that names a listed video (in any spelling of its path) becomes
    that video's path; a video without a group is its own group, a source that
    names no other listed video is ''.
    """
    usable = table[table["status"] == "ok"]
    first = {}
    drop = []
    for row in usable.itertuples():
        identity = file_identity(root, row.path)
        if identity not in first:
            first[identity] = row
            continue
        kept = first[identity]
        if kept.label != row.label:
            raise DataError(f"{named(kept)} and {named(row)} are the same video file with "
                            f"different labels ({kept.label}, {row.label}): keep one")
        log.warning(f"{row.where} names the same video as {kept.where}; the first kept")
        drop.append(row.Index)
    table = table.drop(index=drop)
    paths = {identity: row.path for identity, row in first.items()}
    table["group"] = [group_of(root, row, paths) for row in table.itertuples()]
    table["source"] = [source_of(root, row, paths) for row in table.itertuples()]
    return table


def named(row):
    """A listed row as a message names it: where it is listed, and the path given there."""
    return row.where if row.raw_path in row.where else f"{row.where} ('{row.raw_path}')"


def group_of(root, row, paths):
    """A row's group: the listed video its group names, the group as given, or its own path."""
    if not row.group:
        return row.path or row.raw_path
    return listed_video(root, row.group, paths) or row.group


def source_of(root, row, paths):
    """The listed video (not itself) whose footage a row's video is, or ''."""
    source = listed_video(root, row.source, paths)
    return "" if source == row.path else source


def listed_video(root, name, paths):
    """The listed path of the video that name names, in any spelling, or ''."""
    target = inside(root, name) if name else ""
    return paths.get(file_identity(root, target), "") if target else ""


# ---- real/ and fake/ folders, labels.csv, DFDC -------------------------------------

def _from_folders(root):
    rows = []
    for label in LABELS:
        folder = root / label
        videos = sorted(video_entries(folder)) if folder.is_dir() else []
        if not videos:
            log.warning(f"no videos in '{folder}'")
        rows += [dict(path=p.relative_to(root).as_posix(), label=label) for p in videos]
    return _table(rows, where=[row["path"] for row in rows])


def video_entries(folder, depth=None):
    """Every entry under folder (at most depth folders down) named like a video: files,
    but also directories and broken links, which detect_faces records as unusable
    instead of passing over. Links to folders are followed, but each real folder is
    entered once, so a link to a parent folder cannot loop."""
    seen = {os.path.realpath(folder)}
    for parent, dirs, files in os.walk(folder, followlinks=True):
        for name in dirs + files:
            if Path(name).suffix.lower() in VIDEO_EXTS:
                yield Path(parent) / name
        below = len(Path(os.path.relpath(parent, folder)).parts)  # folders down from folder
        dirs[:] = [] if depth is not None and below >= depth else unseen_folders(parent, dirs, seen)


def unseen_folders(parent, names, seen):
    """The folders names (in parent) whose real folder is not in seen, which gets them; in
    sorted order, so of two links to one folder the same is always kept."""
    unseen = []
    for name in sorted(names):
        real = os.path.realpath(os.path.join(parent, name))
        if real not in seen:
            seen.add(real)
            unseen.append(name)
    return unseen


def glob_videos(pattern):
    """The entries named like a video whose paths match a glob pattern, sorted: as
    glob.glob(pattern, recursive=True) ('*', '?', '[...]' within a name, '**' any number of
    folders, a name starting with '.' only where the pattern's does), but found by
    video_entries' walk of the pattern's fixed leading folder, which cannot loop."""
    parts = Path(pattern).parts
    fixed = next((i for i, part in enumerate(parts[:-1]) if has_magic(part)), len(parts) - 1)
    base, wanted = Path(*parts[:fixed]), parts[fixed:]
    depth = None if "**" in wanted else len(wanted) - 1
    return sorted(path for path in video_entries(base, depth)
                  if parts_match(wanted, path.relative_to(base).parts))


def has_magic(part):
    """Whether a part of a glob pattern has wildcards."""
    return any(c in part for c in "*?[")


def parts_match(patterns, names):
    """Whether the names of a path match the parts of a glob pattern, one each, and '**'
    any number of names (not starting with '.')."""
    if not patterns:
        return not names
    first, rest = patterns[0], patterns[1:]
    if first == "**":
        return parts_match(rest, names) or (
            bool(names) and not names[0].startswith(".") and parts_match(patterns, names[1:]))
    return bool(names) and name_matches(first, names[0]) and parts_match(rest, names[1:])


def name_matches(pattern, name):
    """Whether a name matches one part of a glob pattern; as in glob, a name starting with
    '.' only matches a pattern that does."""
    return fnmatch.fnmatchcase(name, pattern) and (
        pattern.startswith(".") or not name.startswith("."))


def _from_csv(path):
    try:
        with warnings.catch_warnings():  # a row with more fields than the header only warns
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, pd.errors.ParserWarning,
            UnicodeDecodeError) as e:
        raise DataError(f"{path} cannot be read as path,label[,group] CSV "
                        f"({' '.join(str(e).split())})") from None
    if "path" not in table and set(DFDC_TEST_COLUMNS) <= set(table.columns):
        table = table.rename(columns={"filename": "path"})  # DFDC's public test set: 1 is fake
        table["label"] = table["label"].str.strip().map({"1": "fake", "0": "real"}).fillna(
            table["label"])
    missing = {"path", "label"} - set(table.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))} "
                        f"(expected path,label[,group])")
    if "group" not in table:
        table["group"] = ""
    table = table[["path", "label", "group"]].fillna("")  # short rows: NaN
    table["source"] = table["group"]  # a group that names a listed video is its footage
    return _table(table.to_dict("records"),
                  where=[f"{LABELS_CSV} line {i + 2}" for i in range(len(table))])


def _from_dfdc(path):
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: expected an object of video name: {{label, original}}, "
                        f"found {type(meta).__name__}")
    rows = []
    for name, entry in sorted(meta.items()):
        original = entry.get("original") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(original, (str, type(None))):
            raise DataError(f"{path}: entry '{name}' is {json.dumps(entry)[:80]}: expected "
                            f'{{"label": "REAL" or "FAKE", "original": a video name or null}}')
        rows.append(dict(path=name, label=str(entry.get("label", "")), group=original or "",
                         source=original or ""))
    return _table(rows, where=[f"{DFDC_METADATA} entry '{row['path']}'" for row in rows])


# ---- FaceForensics++ -------------------------------------------------------------

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


def video_row(root, path, label, names, convention):
    """(the row of the video at path, its people, the key of its footage), from names: what
    the layout's parser made of its file name, or None when the name does not fit the
    layout's convention, which makes a row with a problem, its own path its person and key."""
    listed = path.relative_to(root).as_posix()
    if names is None:
        return (dict(path=listed, label=label,
                     problem=f"name '{path.stem}' does not fit {convention}"), [listed], listed)
    return (dict(path=listed, label=label), *names)


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
    return _table(rows, where=[row["path"] for row in rows])


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


# ---- Celeb-DF (v1, v2) -------------------------------------------------------------

def celeb_names(folder, stem):
    """(the people in a Celeb-DF video, the Celeb-real clip whose footage it is), or None
    for a name that does not fit: YouTube-real '00000'; Celeb-real 'id0_0003';
    Celeb-synthesis 'id0_id1_0003', made from id0's clip 0003 with id1's face."""
    if folder == "YouTube-real":
        return [f"youtube {stem}"], ""
    *ids, clip = stem.split("_")
    if len(ids) != (2 if folder == "Celeb-synthesis" else 1) or not all(ids + [clip]):
        return None
    return [f"celebrity {i}" for i in ids], f"{ids[0]}_{clip}"


def _from_celeb_df(root):
    rows, people, footage = [], [], {}
    for folder, label in zip(CELEB_FOLDERS, ("real", "real", "fake")):  # reals before fakes
        for path in sorted(video_entries(root / folder)):
            row, who, clip = video_row(root, path, label, celeb_names(folder, path.stem),
                                       CELEB_CONVENTION)
            rows.append(dict(row, source=footage.get(clip, "") if label == "fake" else ""))
            people.append(who)
            if folder == "Celeb-real":
                footage[clip] = row["path"]
    listed, test = celeb_test_list(root)
    for row, group in zip(rows, connected_groups(people)):
        row.update(group=group, official_split=("test" if row["path"] in test else "train")
                   if listed else "")
    where = [row["path"] for row in rows]
    known = set(where)
    for line, path, label in listed:  # listed for test but not in the folder: a row, which
        if path not in known:         # detect_faces records as not found
            rows.append(dict(path=path, label=label, official_split="test"))
            where.append(f"{CELEB_TEST_LIST} line {line}")
    return _table(rows, where)


def celeb_test_list(root):
    """([(line, path, label)], {paths}) of Celeb-DF's official test list ('1 path' is real,
    '0 path' fake), or ([], set()) when the folder has none."""
    path = root / CELEB_TEST_LIST
    if not path.is_file():
        return [], set()
    listed = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[0] not in ("0", "1"):
            raise DataError(f"{path} line {n}: '{line.strip()}': expected '1 <path>' (real) "
                            f"or '0 <path>' (fake)")
        listed.append((n, inside(root, fields[1]) or fields[1], ("fake", "real")[int(fields[0])]))
    return listed, {p for _, p, _ in listed}


def _table(rows, where):
    """The rows (dicts of COLUMNS and problem, why a row cannot be used; missing ones '') as
    a table, with where each was listed."""
    table = pd.DataFrame(rows, columns=COLUMNS + ["problem"], dtype=object).fillna("").astype(str)
    table["raw_path"] = table["path"]
    table["where"] = where
    return table


def assign_ids(paths):
    """Stable, file-name-safe, unique ids from relative paths.

    Paths whose slugs collide get '+' and a hash of the path; slug() never
    makes a '+', so these cannot meet another path's id, nor can ids derived
    from them with DERIVED.
    """
    ids = [slug(str(Path(p).with_suffix(""))) for p in paths]
    seen = pd.Series(ids).duplicated(keep=False)
    return [f"{i}{DERIVED}{hashlib.sha1(p.encode()).hexdigest()[:8]}" if dup else i
            for i, p, dup in zip(ids, paths, seen)]


