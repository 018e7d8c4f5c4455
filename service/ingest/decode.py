"""Transport decompression with a cap on the decompressed size."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import zstandard

from service.ingest.errors import IngestRejected, invalid_payload, too_large

_CHUNK = 64 * 1024


def decompress(body: bytes, content_encoding: str, max_size: int) -> bytes:
    """Decode ``body`` by its Content-Encoding, rejecting output above ``max_size`` bytes."""
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(body) > max_size:
            raise too_large("decompressed body", "max_decompressed_bytes", max_size)
        return body
    decoders: dict[str, Callable[[bytes, int], bytes]] = {
        "gzip": _gunzip,
        "x-gzip": _gunzip,
        "deflate": _inflate,
        "br": _unbrotli,
        "zstd": _unzstd,
    }
    decoder = decoders.get(encoding)
    if decoder is None:
        raise IngestRejected(415, "encoding", f"unsupported Content-Encoding {content_encoding!r}; use gzip, deflate, br or zstd")
    try:
        return decoder(body, max_size)
    except (zlib.error, brotli.error, zstandard.ZstdError) as error:
        raise invalid_payload(f"body is not valid {encoding} data: {error}") from None


def _drain_zlib(wbits: int, body: bytes, max_size: int) -> bytes:
    output = bytearray()
    decompressor = zlib.decompressobj(wbits)
    data = body
    while True:
        output += decompressor.decompress(data, max_size + 1 - len(output))
        if len(output) > max_size:
            raise too_large("decompressed body", "max_decompressed_bytes", max_size)
        if decompressor.eof:
            # A gzip body may hold several members back to back.
            data = decompressor.unused_data
            if not data.strip(b"\0"):
                return bytes(output)
            decompressor = zlib.decompressobj(wbits)
            continue
        data = decompressor.unconsumed_tail
        if not data:
            raise invalid_payload("compressed body is truncated")


def _gunzip(body: bytes, max_size: int) -> bytes:
    return _drain_zlib(16 + zlib.MAX_WBITS, body, max_size)


def _inflate(body: bytes, max_size: int) -> bytes:
    # HTTP "deflate" should be zlib-wrapped, but some clients send raw deflate.
    try:
        return _drain_zlib(zlib.MAX_WBITS, body, max_size)
    except zlib.error:
        return _drain_zlib(-zlib.MAX_WBITS, body, max_size)


def _unbrotli(body: bytes, max_size: int) -> bytes:
    decompressor = brotli.Decompressor()
    output = bytearray(decompressor.process(body, output_buffer_limit=max_size + 1))
    while len(output) <= max_size and not decompressor.is_finished():
        more = decompressor.process(b"", output_buffer_limit=max_size + 1 - len(output))
        if not more:
            break
        output += more
    if len(output) > max_size:
        raise too_large("decompressed body", "max_decompressed_bytes", max_size)
    if not decompressor.is_finished():
        raise invalid_payload("compressed body is truncated")
    return bytes(output)


def _unzstd(body: bytes, max_size: int) -> bytes:
    reader = zstandard.ZstdDecompressor().stream_reader(body, read_across_frames=True)
    output = bytearray()
    while True:
        chunk = reader.read(_CHUNK)
        if not chunk:
            break
        output += chunk
        if len(output) > max_size:
            raise too_large("decompressed body", "max_decompressed_bytes", max_size)
    return bytes(output)
