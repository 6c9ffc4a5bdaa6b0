"""Which videos a data_dir holds, as the field's datasets are downloaded: each video's
label, group (what must share a split), source (the real footage a fake was made
from) and official split.

Layouts: real/ and fake/ subfolders; labels.csv (path,label[,group], or the DFDC
public test set's filename,label); DFDC's metadata.json; FaceForensics++ as its
download script lays it out; Celeb-DF (v1, v2).
"""
import hashlib
import json
import os
import warnings
from pathlib import Path

import pandas as pd

from stages.common import (
    DERIVED,
    LABEL_INDEX,
    LABELS_CSV,
    ConfigError,
    DataError,
    log,
    slug,
)
from stages.params import FF_METHODS

VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
LABELS = tuple(LABEL_INDEX)
SPLITS = ("train", "val", "test")
COLUMNS = ["path", "label", "group", "source", "official_split"]
DFDC_METADATA = "metadata.json"

FF_ORIGINALS, FF_FAKES = "original_sequences", "manipulated_sequences"
FF_SPLIT_FILES = tuple(f"{split}.json" for split in SPLITS)
CELEB_FOLDERS = ("Celeb-real", "YouTube-real", "Celeb-synthesis")
CELEB_TEST_LIST = "List_of_testing_videos.txt"
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
    unknown label) has status 'error: <why>' and a warning; the others have
    status 'ok'.
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


def video_entries(folder):
    """Every entry under folder named like a video: files, but also directories and
    broken links, which extract_frames records as unusable instead of passing over."""
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            if Path(name).suffix.lower() in VIDEO_EXTS:
                yield Path(parent) / name


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

def ff_names(stem):
    """(the people in a FaceForensics++ video, its scene): '000' or '000_003' (YouTube ids,
    the target first), '01__scene' or '01_02__scene__code' (DeepFakeDetection's actors)."""
    if "__" in stem:
        ids, scene = stem.split("__")[:2]
        return [f"actor {i}" for i in ids.split("_")], scene
    return [f"youtube {i}" for i in stem.split("_")], ""


def _from_faceforensics(root, compression, methods):
    rows, people, footage = [], [], {}
    for kind in ("youtube", "actors"):
        for path in sorted(video_entries(root / FF_ORIGINALS / kind / compression / "videos")):
            who, scene = ff_names(path.stem)
            rows.append(dict(path=path.relative_to(root).as_posix(), label="real"))
            people.append(who)
            footage[(who[0], scene)] = rows[-1]["path"]
    for method in methods:
        folder = root / FF_FAKES / method / compression / "videos"
        if not folder.is_dir():
            log.warning(f"no FaceForensics++ {method} videos in '{folder}'")
        for path in sorted(video_entries(folder)):
            who, scene = ff_names(path.stem)
            rows.append(dict(path=path.relative_to(root).as_posix(), label="fake",
                             source=footage.get((who[0], scene), "")))
            people.append(who)
    for row, group, split in zip(rows, connected_groups(people),
                                 ff_official_splits(root, people)):
        row.update(group=group, official_split=split)
    return _table(rows, where=[row["path"] for row in rows])


def ff_official_splits(root, people):
    """Each video's split in FaceForensics++'s train/val/test.json (lists of YouTube id
    pairs), when the folder has them: '' for a video they do not name."""
    files = [root / name for name in FF_SPLIT_FILES]
    if not any(f.is_file() for f in files):
        return [""] * len(people)
    present = {person for persons in people for person in persons}
    split_of = {}
    for split, path in zip(SPLITS, files):
        pairs = read_pairs(path) if path.is_file() else []
        missing = sum(any(f"youtube {i}" not in present for i in pair) for pair in pairs)
        if missing:
            log.warning(f"{path}: {missing} of {len(pairs)} pairs name videos that are not in "
                        f"'{root}'; going on with the rest")
        for pair in pairs:
            for i in pair:
                split_of[f"youtube {i}"] = split
    return [split_of.get(persons[0], "")
            if all(split_of.get(p) == split_of.get(persons[0]) for p in persons) else ""
            for persons in people]


def read_pairs(path):
    """The [id, id] pairs of a FaceForensics++ split file."""
    try:
        pairs = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(pairs, list) or not all(
            isinstance(p, list) and all(isinstance(i, str) for i in p) for p in pairs):
        raise DataError(f'{path}: expected a list of id pairs such as [["071", "054"], ...]')
    return pairs


# ---- Celeb-DF (v1, v2) -------------------------------------------------------------

def celeb_names(folder, stem):
    """(the people in a Celeb-DF video, the Celeb-real clip whose footage it is):
    YouTube-real '00000'; Celeb-real 'id0_0003'; Celeb-synthesis 'id0_id1_0003', made
    from id0's clip 0003 with id1's face."""
    if folder == "YouTube-real":
        return [f"youtube {stem}"], ""
    *ids, clip = stem.split("_")
    return [f"celebrity {i}" for i in ids], f"{ids[0]}_{clip}"


def _from_celeb_df(root):
    rows, people, footage = [], [], {}
    for folder, label in zip(CELEB_FOLDERS, ("real", "real", "fake")):  # reals before fakes
        for path in sorted(video_entries(root / folder)):
            who, clip = celeb_names(folder, path.stem)
            rows.append(dict(path=path.relative_to(root).as_posix(), label=label,
                             source=footage.get(clip, "") if label == "fake" else ""))
            people.append(who)
            if folder == "Celeb-real":
                footage[clip] = rows[-1]["path"]
    listed, test = celeb_test_list(root)
    for row, group in zip(rows, connected_groups(people)):
        row.update(group=group, official_split=("test" if row["path"] in test else "train")
                   if listed else "")
    where = [row["path"] for row in rows]
    known = set(where)
    for line, path, label in listed:  # listed for test but not in the folder: a row, which
        if path not in known:         # extract_frames records as not found
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
    """The rows (dicts of COLUMNS; missing ones '') as a table, with where each was listed."""
    table = pd.DataFrame(rows, columns=COLUMNS, dtype=object).fillna("").astype(str)
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


