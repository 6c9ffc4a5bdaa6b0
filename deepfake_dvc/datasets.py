"""Which videos a data_dir holds, as the field's datasets are downloaded: each video's
label, group (what must share a split), source (the real footage a fake was made
from) and official split.

The layouts (real/ and fake/ subfolders, labels.csv, DFDC, FaceForensics++, Celeb-DF)
are a registry, deepfake_dvc.layouts; this module checks and merges what they list.
"""
import hashlib
import os
from pathlib import Path

import pandas as pd

from deepfake_dvc.errors import ConfigError, DataError
from deepfake_dvc.files import slug
from deepfake_dvc.labels import DERIVED, LABEL_INDEX
from deepfake_dvc.layouts import find_layout, inside
from deepfake_dvc.log import log
from deepfake_dvc.params import FF_METHODS
from deepfake_dvc.status import OK, failed, reason
from deepfake_dvc.tables import LISTING

LABELS = tuple(LABEL_INDEX)


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
    table = layout.videos(root, ff_compression=ff_compression, ff_methods=ff_methods)
    if table.empty:
        raise DataError(f"no videos found in '{data_dir}' (read as {layout.mark})")
    table["label"] = table["label"].str.strip().str.lower()
    table["path"] = [inside(root, p) for p in table["path"]]
    table["status"] = [row_problem(row) for row in table.itertuples()]
    for row in table[table["status"] != OK].itertuples():
        log.warning(f"{row.where}: {reason(row.status)}; skipped")
    table = one_row_per_file(root, table)
    table["path"] = table["path"].where(table["status"] == OK, table["raw_path"])
    return table[[*LISTING, "status"]].reset_index(drop=True)


def row_problem(row):
    """'ok', or 'error: <why>' for a listed row that cannot be used."""
    if row.problem:
        return failed(row.problem)
    if not row.path:
        return failed("empty path" if not row.raw_path else
                      "outside data_dir (DVC does not track it; move the video into data_dir)")
    if row.label not in LABELS:
        return failed(f"unknown label '{row.label}' (expected real or fake)")
    return OK


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
    usable = table[table["status"] == OK]
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


