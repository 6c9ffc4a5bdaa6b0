"""Which files are videos: the extensions the pipeline reads, found under a folder or by a
glob pattern, by a walk that follows links to folders without looping."""
import fnmatch
import os
from pathlib import Path

VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


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
