"""Finding labelled videos, sampling their frames, and storing frames compactly."""
import errno
import hashlib
import json
import os
import stat
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from stages.common import (
    DERIVED,
    LABEL_INDEX,
    ConfigError,
    DataError,
    SkipInput,
    atomic_path,
    slug,
    warn,
)

VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
LABELS = tuple(LABEL_INDEX)
LABELS_CSV = "labels.csv"
DFDC_METADATA = "metadata.json"


# ---- which videos, with which label and group ---------------------------------

def list_videos(data_dir):
    """A table (path, label, group, status) of the videos under data_dir, one row per file.

    data_dir holds labels.csv (path,label[,group]), a DFDC-style metadata.json,
    or real/ and fake/ subfolders. Paths are normalised and relative to
    data_dir; a fake's group is the real video it was made from, when the
    labels say so. A row that cannot be used (outside data_dir, unknown label)
    has status 'error: <why>' and a warning; the others have status 'ok'.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ConfigError(f"data_dir '{data_dir}' does not exist or is not a folder "
                          f"(set data_dir in params.yaml)")
    if (root / LABELS_CSV).is_file():
        table = _from_csv(root / LABELS_CSV)
    elif (root / DFDC_METADATA).is_file():
        table = _from_dfdc(root / DFDC_METADATA)
    else:
        table = _from_folders(root)
    if table.empty:
        raise DataError(f"no videos found in '{data_dir}': expected real/ and fake/ subfolders, "
                        f"{LABELS_CSV} or {DFDC_METADATA}")
    table["label"] = table["label"].str.strip().str.lower()
    table["path"] = [inside(root, p) for p in table["path"]]
    table["status"] = [row_problem(row) for row in table.itertuples()]
    for row in table[table["status"] != "ok"].itertuples():
        warn(f"{row.where}: {row.status[len('error: '):]}; skipped")
    table = one_row_per_file(root, table)
    table["path"] = table["path"].where(table["status"] == "ok", table["raw_path"])
    return table[["path", "label", "group", "status"]].reset_index(drop=True)


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
    that names a listed video (in any spelling of its path) becomes that
    video's path, and a video without a group is its own group.
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
        warn(f"{row.where} names the same video as {kept.where}; the first kept")
        drop.append(row.Index)
    table = table.drop(index=drop)
    paths = {identity: row.path for identity, row in first.items()}
    table["group"] = [group_of(root, row, paths) for row in table.itertuples()]
    return table


def named(row):
    """A listed row as a message names it: where it is listed, and the path given there."""
    return row.where if row.raw_path in row.where else f"{row.where} ('{row.raw_path}')"


def group_of(root, row, paths):
    """A row's group: the listed video its group names, the group as given, or its own path."""
    if not row.group:
        return row.path or row.raw_path
    target = inside(root, row.group)
    return paths.get(file_identity(root, target), row.group) if target else row.group


def _from_folders(root):
    rows = []
    for label in LABELS:
        folder = root / label
        videos = sorted(video_entries(folder)) if folder.is_dir() else []
        if not videos:
            warn(f"no videos in '{folder}'")
        rows += [(p.relative_to(root).as_posix(), label, "") for p in videos]
    return _table(rows, where=[path for path, _, _ in rows])


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
    missing = {"path", "label"} - set(table.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(sorted(missing))} "
                        f"(expected path,label[,group])")
    if "group" not in table:
        table["group"] = ""
    rows = table[["path", "label", "group"]].fillna("").values.tolist()  # short rows: NaN
    return _table(rows, where=[f"{LABELS_CSV} line {i + 2}" for i in range(len(rows))])


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
        rows.append((name, str(entry.get("label", "")), original or ""))
    return _table(rows, where=[f"{DFDC_METADATA} entry '{name}'" for name, _, _ in rows])


def _table(rows, where):
    table = pd.DataFrame(rows, columns=["path", "label", "group"], dtype=str)
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


# ---- decoding only the frames we need ------------------------------------------

def sample_indices(frame_count, k):
    """k frame indices spread evenly over the video: the centres of k equal parts."""
    if frame_count <= k:
        return list(range(frame_count))
    return sorted(set(((np.arange(k) + 0.5) * frame_count / k).astype(int).tolist()))


def shrink(frame, max_side):
    """The frame with its long side at most max_side (never enlarged)."""
    scale = max_side / max(frame.shape[:2])
    if scale >= 1:
        return frame
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def video_info(cap):
    """fps, frame count, width, height and duration that the container reports."""
    fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return dict(fps=round(fps, 3), frame_count=count,
                width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                duration=round(count / fps, 3) if fps > 0 else 0.0)


def open_video(path):
    """An OpenCV capture with one decoding thread (the stages run one video per core)."""
    return cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])


def _count_by_grabbing(path):
    cap = open_video(path)
    count = 0
    while cap.grab():
        count += 1
    cap.release()
    return count


def _grab_sampled(path, wanted, max_side):
    """(indices, frames, frames grabbed): grab up to the last wanted frame, retrieve the wanted."""
    cap = open_video(path)
    indices, frames, grabbed = [], [], 0
    try:
        while grabbed <= max(wanted) and cap.grab():
            if grabbed in wanted:
                ok, frame = cap.retrieve()
                if ok:
                    indices.append(grabbed)
                    frames.append(shrink(frame, max_side))
            grabbed += 1
    finally:
        cap.release()
    return indices, frames, grabbed


def file_problem(path):
    """Why path is not a non-empty regular file (a video can only be one of those), or None."""
    try:
        info = os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a symbolic link loop, not a video file"
        return "a broken symbolic link (its target does not exist)" if os.path.islink(path) \
            else "file not found"
    if stat.S_ISDIR(info.st_mode):
        return "a directory, not a video file"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device, pipe or socket)"
    return "empty file (0 bytes)" if info.st_size == 0 else None


def read_sampled_frames(path, k, max_side):
    """(indices, BGR frames, info) for k evenly spread frames of one video.

    Every frame up to the last one needed is grabbed (demuxed and decoded
    without conversion); only the sampled ones are retrieved and resized.
    A container that over-reports its length is sampled again over the
    frames it really has. Raises SkipInput with a short reason when the file
    is not a usable video.
    """
    path = Path(path)
    problem = file_problem(path)
    if problem:
        raise SkipInput(problem)
    cap = open_video(path)
    try:
        if not cap.isOpened():
            raise SkipInput("not a readable video (unknown format, no video stream, or corrupt)")
        info = video_info(cap)
    finally:
        cap.release()
    if info["frame_count"] <= 0:
        info["frame_count"] = _count_by_grabbing(path)
    wanted = set(sample_indices(info["frame_count"], k))
    if not wanted:
        raise SkipInput("no video frames (audio-only or corrupt)")
    indices, frames, grabbed = _grab_sampled(path, wanted, max_side)
    if 0 < grabbed <= max(wanted):
        info.update(frame_count=grabbed,
                    duration=round(grabbed / info["fps"], 3) if info["fps"] > 0 else 0.0)
        indices, frames, _ = _grab_sampled(path, set(sample_indices(grabbed, k)), max_side)
    if not frames:
        raise SkipInput("no frame could be decoded (truncated or corrupt)")
    return np.array(indices, dtype=np.int64), frames, info


# ---- storing frames: one file per video ----------------------------------------

def encode_frame(frame, fmt, quality):
    """Compressed bytes of a BGR frame: JPEG at `quality`, or lossless PNG."""
    ext, flags = (".png", [cv2.IMWRITE_PNG_COMPRESSION, 3]) if fmt == "png" \
        else (".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    ok, buf = cv2.imencode(ext, frame, flags)
    if not ok:
        raise SkipInput(f"could not encode a frame as {fmt}")
    return buf


def decode_frame(buf):
    """The BGR frame back from encode_frame's bytes."""
    return cv2.imdecode(np.asarray(buf, dtype=np.uint8), cv2.IMREAD_COLOR)


def as_stored(frames, fmt, quality):
    """Frames exactly as the pipeline stores and reloads them (same compression)."""
    return [decode_frame(encode_frame(f, fmt, quality)) for f in frames]


def save_frames(path, indices, frames, fmt, quality):
    """Write one .npz holding a video's compressed frames; return its size in bytes."""
    bufs = [encode_frame(f, fmt, quality) for f in frames]
    offsets = np.cumsum([0] + [len(b) for b in bufs])
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, indices=indices, offsets=offsets, data=np.concatenate(bufs))
    return Path(path).stat().st_size


def load_frames(path):
    """(indices, BGR frames) from a file written by save_frames."""
    with np.load(path) as z:
        data, offsets = z["data"], z["offsets"]
        frames = [decode_frame(data[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
        return z["indices"], frames
