"""The one deterministic zip writer every artifact goes through.

Identical input trees give byte-identical zips on any machine: entries sorted by name, a fixed
timestamp (1980-01-01, the earliest a zip can hold), fixed permissions (0644, or 0755 when the
source is executable), Unix create_system, no uid/gid or timestamp extra fields, one fixed
compression level. Directory entries are omitted (Lambda does not need them).
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path

from .fsutil import atomic_path

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 6


def iter_tree(root: Path, prefix: str = "") -> Iterable[tuple[str, Path]]:
    """(archive name, source path) for every file under root; symlinks to files are followed."""
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            arcname = (Path(prefix) / rel_dir / name).as_posix()
            yield arcname, Path(dirpath) / name


def _zip_info(arcname: str, source: Path) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE_TIME)
    info.create_system = 3
    mode = 0o755 if os.stat(source).st_mode & stat.S_IXUSR else 0o644
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = COMPRESSION
    info.file_size = os.path.getsize(source)
    # ZipFile.open(ZipInfo) ignores the archive's compresslevel; set it on the entry
    # (the attribute is `_compresslevel` before Python 3.13, `compress_level` after).
    if hasattr(info, "compress_level"):
        info.compress_level = COMPRESS_LEVEL  # type: ignore[attr-defined]
    else:  # ZipInfo has __slots__: the 3.13 name cannot be set on 3.11/3.12
        info._compresslevel = COMPRESS_LEVEL  # type: ignore[attr-defined]
    return info


def write_zip(entries: Iterable[tuple[str, Path]], dest: Path) -> Path:
    """Write (arcname, source file) pairs to `dest` deterministically and atomically."""
    ordered = sorted(entries, key=lambda entry: entry[0])
    names = [name for name, _ in ordered]
    if len(names) != len(set(names)):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"duplicate zip entries: {dupes[:5]}")
    with atomic_path(dest) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=COMPRESSION, compresslevel=COMPRESS_LEVEL) as archive:
            for arcname, source in ordered:
                info = _zip_info(arcname, source)
                with open(source, "rb") as src, archive.open(info, "w", force_zip64=info.file_size > 2**31) as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    return Path(dest)


def zip_tree(root: Path, dest: Path, prefix: str = "") -> Path:
    return write_zip(iter_tree(root, prefix), dest)


def unzipped_size(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def extract_zip(path: Path, dest: Path) -> None:
    """Extract keeping the recorded permissions (zipfile drops them)."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            target = Path(archive.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target, mode)
