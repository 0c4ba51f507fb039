"""Streaming compressors and decompressors: zstd (default), gzip, or none."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

import zstandard

EXTENSIONS = {"zstd": ".zst", "gzip": ".gz", "none": ""}
# The same three as shared.models.backups.COMPRESSIONS (a test holds them equal), not imported
# from there: the dump pipeline runs without the ORM, and importing it added 25 MiB of RSS.
CODECS = tuple(EXTENSIONS)
DEFAULT_LEVELS = {"zstd": 3, "gzip": 6, "none": 0}


class Compressor(Protocol):
    """Turns a stream of raw chunks into compressed chunks."""

    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class _Passthrough:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


class _Zstd:
    def __init__(self, level: int, threads: int) -> None:
        # threads > 0 moves the work to zstd's own worker threads, outside the GIL.
        cctx = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
        self._cobj = cctx.compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._cobj.compress(data)

    def flush(self) -> bytes:
        return self._cobj.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)


class _Gzip:
    def __init__(self, level: int) -> None:
        self._cobj = zlib.compressobj(level, zlib.DEFLATED, 31)

    def compress(self, data: bytes) -> bytes:
        return self._cobj.compress(data)

    def flush(self) -> bytes:
        return self._cobj.flush()


def make_compressor(codec: str, *, level: int | None = None, threads: int = 2) -> Compressor:
    """A compressor for `codec` at `level` (the codec's default when None)."""
    chosen = DEFAULT_LEVELS[check_codec(codec)] if level is None else level
    if codec == "zstd":
        return _Zstd(chosen, threads)
    if codec == "gzip":
        return _Gzip(chosen)
    return _Passthrough()


def check_codec(codec: str) -> str:
    """Refuse an unknown codec name."""
    if codec not in CODECS:
        raise ValueError(f"unknown compression {codec!r}; use one of {', '.join(CODECS)}")
    return codec


def decompress_stream(codec: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress a chunk stream; raises ValueError on a corrupt or truncated artifact."""
    check_codec(codec)
    if codec == "none":
        yield from chunks
        return
    if codec == "zstd":
        yield from _unzstd(chunks)
    else:
        yield from _gunzip(chunks)


def _unzstd(chunks: Iterable[bytes]) -> Iterator[bytes]:
    dobj = zstandard.ZstdDecompressor().decompressobj()
    try:
        for chunk in chunks:
            out = dobj.decompress(chunk)
            if out:
                yield out
    except zstandard.ZstdError as exc:
        raise ValueError(f"zstd stream is corrupt: {exc}") from exc
    if not dobj.eof:
        raise ValueError("zstd stream is truncated (no end of frame)")


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    dobj = zlib.decompressobj(31)
    try:
        for chunk in chunks:
            out = dobj.decompress(chunk)
            if out:
                yield out
        tail = dobj.flush()
    except zlib.error as exc:
        raise ValueError(f"gzip stream is corrupt: {exc}") from exc
    if tail:
        yield tail
    if not dobj.eof:
        raise ValueError("gzip stream is truncated (no end of member)")
