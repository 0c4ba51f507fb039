"""Streaming compression round trips, and corrupt artifacts are noticed."""

from __future__ import annotations

import os

import pytest

from services.backups.adapters.compression import decompress_stream, make_compressor

PAYLOAD = b"INSERT INTO t VALUES (1,'abc');\n" * 50_000 + os.urandom(100_000)


def _compress(codec: str, data: bytes) -> bytes:
    compressor = make_compressor(codec)
    parts = [compressor.compress(data[i : i + 65536]) for i in range(0, len(data), 65536)]
    return b"".join(parts) + compressor.flush()


def _chunks(data: bytes, size: int = 4096) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("codec", ["zstd", "gzip", "none"])
def test_every_codec_round_trips_a_stream(codec: str) -> None:
    packed = _compress(codec, PAYLOAD)
    assert b"".join(decompress_stream(codec, _chunks(packed))) == PAYLOAD


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_compressed_sql_is_smaller(codec: str) -> None:
    assert len(_compress(codec, PAYLOAD)) < len(PAYLOAD) / 5


@pytest.mark.parametrize("codec", ["zstd", "gzip"])
def test_a_truncated_artifact_is_reported(codec: str) -> None:
    packed = _compress(codec, PAYLOAD)
    with pytest.raises(ValueError, match=r"truncated|corrupt"):
        b"".join(decompress_stream(codec, _chunks(packed[: len(packed) // 2])))


def test_an_unknown_codec_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown compression"):
        make_compressor("lzma")
