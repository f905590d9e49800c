"""Open a joblib file as its raw pickle byte stream, decompressing in this process.

joblib writes either a plain pickle or one wrapped in a compressor, detected (as joblib itself
does) by the file's first bytes. zlib, gzip, bz2, xz and lzma are in the standard library, so
mlayer reads them here, streaming, without joblib, numpy or scikit-learn installed. lz4 needs a
third-party module and the pre-0.9.3 "ZF" format is long obsolete: both are refused with the fix.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import MlayerError

# (magic prefix, compression name), as in joblib/compressor.py.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x78", "zlib"),
    (b"\x1f\x8b", "gzip"),
    (b"BZ", "bz2"),
    (b"\xfd\x37\x7a\x58\x5a", "xz"),
    (b"\x5d\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"ZF", "joblib-zfile"),
)
_CHUNK = 1 << 16


def detect_compression(head: bytes) -> str | None:
    """The compressor named by a file's first bytes; None for a plain pickle."""
    if head.startswith(b"\x80"):  # PROTO opcode: a plain pickle, protocol 2+
        return None
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


class ZlibReader:
    """A streaming reader over a zlib stream (what joblib's `compress=N` writes)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj()
        self._buffer = bytearray()
        self._pos = 0
        self._eof = False

    def _fill(self, wanted: int) -> None:
        while len(self._buffer) < wanted and not self._eof:
            chunk = self._raw.read(_CHUNK)
            if chunk:
                self._buffer += self._inflate.decompress(chunk)
            else:
                self._buffer += self._inflate.flush()
                self._eof = True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            self._fill(1 << 62)
            size = len(self._buffer)
        else:
            self._fill(size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._pos += len(data)
        return data

    def readline(self) -> bytes:
        while b"\n" not in self._buffer and not self._eof:
            self._fill(len(self._buffer) + _CHUNK)
        end = self._buffer.find(b"\n")
        return self.read(end + 1 if end >= 0 else len(self._buffer))

    def tell(self) -> int:
        return self._pos


@contextlib.contextmanager
def open_pickle_stream(path: Path) -> Iterator[tuple[BinaryIO, str | None]]:
    """Yield (readable pickle stream, compression name or None)."""
    path = Path(path)
    with open(path, "rb") as raw:
        compression = detect_compression(raw.read(8))
        raw.seek(0)
        if compression == "lz4":
            raise MlayerError(
                f"{path.name} is lz4-compressed, which mlayer cannot read without the lz4 module: "
                "re-dump it with joblib.dump(obj, path, compress=3) (zlib) or without compression"
            )
        if compression == "joblib-zfile":
            raise MlayerError(
                f"{path.name} uses the compressed format of joblib < 0.9.3: load it with that joblib and re-dump it with a current one"
            )
        if compression is None:
            yield raw, None
        elif compression == "zlib":
            yield ZlibReader(raw), compression  # type: ignore[misc]
        elif compression == "gzip":
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                yield stream, compression  # type: ignore[misc]
        elif compression == "bz2":
            with bz2.BZ2File(raw, mode="rb") as stream:
                yield stream, compression  # type: ignore[misc]
        else:  # xz or lzma ("alone"): FORMAT_AUTO reads both
            with lzma.LZMAFile(raw, mode="rb") as stream:
                yield stream, compression  # type: ignore[misc]
