"""Files written whole or not at all, and read back: text, JSON, digests, file-name slugs."""
import contextlib
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path

from deepfake_dvc.errors import ConfigError, DataError, write_failed


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary name beside path; rename it to path only on success.

    A path that exists and is not a regular file (a folder, a device such as
    /dev/null) is refused, not replaced; a write the machine refuses is a
    MachineError naming path, and leaves no temporary behind.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise ConfigError(f"'{path}' exists and is not a regular file; not replaced")
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        raise write_failed(path, e) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_bytes_atomic(path, data):
    """Write bytes under a temporary name, then rename it."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path, text):
    """Write a small text file under a temporary name, then rename it."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path, data):
    """Write data as indented JSON under a temporary name, then rename it."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def read_json(path):
    """The data of a JSON file."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def not_written_yet(path):
    """The DataError for a file a stage before this one writes that is not there."""
    return DataError(f"'{path}' not found: run the stages before this one (dvc repro)")


def read_record(path):
    """The data of a JSON file a stage before this one wrote; not_written_yet's DataError
    when it is not there."""
    try:
        return read_json(path)
    except FileNotFoundError:
        raise not_written_yet(path) from None


def file_digest(path):
    """The SHA-256 of a file's bytes, as hex."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def dvc_digest(path):
    """(md5, files) of a file or folder as DVC records a dep on it (a folder's md5 ends in
    '.dir'): inside a DVC repository from its hash cache (a file is read again only when
    changed), elsewhere by reading every file."""
    import os

    from dvc.exceptions import NotDvcRepoError
    from dvc.repo import Repo
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem
    from dvc_objects.fs.memory import MemoryFileSystem

    def digest(odb, fs, ignore=None):
        _, meta, obj = build(odb, os.path.abspath(path), fs, "md5", ignore=ignore,
                             dry_run=True)
        return obj.hash_info.value, meta.nfiles or 1

    try:
        with Repo(".") as repo:
            return digest(repo.cache.local, repo.fs, repo.dvcignore)
    except NotDvcRepoError:
        return digest(HashFileDB(MemoryFileSystem(), "/hashes"), LocalFileSystem())


def slug(text):
    """A file-name-safe ASCII form of text (accents dropped, others to '_')."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_text).strip("._") or "video"


def remove_temporaries(folder):
    """Delete the temporaries atomic_path leaves in folder when its process is killed."""
    for tmp in Path(folder).glob(".*.tmp*"):
        tmp.unlink(missing_ok=True)
