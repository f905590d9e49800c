"""The reference the parallel zipper is held to (no tests here; stdlib + mlayer.zipper only, so any Python can run it)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from mlayer import zipper


def stdlib_streaming_zip(root: Path, dest: Path) -> Path:
    """zipfile's own writer, one entry at a time (what zipper did before it went parallel)."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, source in sorted(zipper.iter_tree(root)):
            info = zipper._zip_info(arcname, source)
            with open(source, "rb") as src, archive.open(info, "w") as out:
                shutil.copyfileobj(src, out, zipper.FEED_SIZE)
    return dest
