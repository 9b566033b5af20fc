"""Whether a PNG's compressed pixel data covers the whole image.

Pillow stops decoding a PNG when its zlib stream ends and keeps whatever rows it got: the rest of
the image stays zero-filled and no error is raised. So a few bytes that claim 6000x6000 pixels and
hold one row were accepted as a "valid" image (and decoded to 144 MB). The PNG format says exactly
how many bytes the decompressed data of an image has (one filter byte plus the packed pixels of
each row, per Adam7 pass when interlaced), so we count them, for the image and for each frame of
an animated PNG, without keeping the output.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_PIECE = 1 << 16  # decompressed bytes at a time: counting needs no more memory than this


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, body) of each chunk up to IEND; stops early at a malformed one (Pillow reports it)."""
    at = len(SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if len(body) < length:
            return
        yield kind, body
        if kind == b"IEND":
            return
        at += 12 + length


def raw_size(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """Bytes of decompressed data an image of this size needs (rows with their filter bytes)."""
    if not interlaced:
        return height * (1 + (width * bits_per_pixel + 7) // 8)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        columns = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if columns and rows:
            total += rows * (1 + (columns * bits_per_pixel + 7) // 8)
    return total


def _inflated_size(parts: list[bytes], enough: int) -> int:
    """How many bytes the zlib stream in `parts` decompresses to, counting no further than `enough`.
    zlib.error for a corrupt stream."""
    stream = zlib.decompressobj()
    total = 0
    for part in parts:
        pending = part
        while pending and not stream.eof:
            total += len(stream.decompress(pending, _PIECE))
            if total >= enough:
                return total
            pending = stream.unconsumed_tail
    return total + len(stream.flush())


def short_png_data(data: bytes) -> str | None:
    """Why the image data of this PNG (or of a frame of an animated PNG) ends before its last row;
    None when every stream is long enough, or when the file is malformed in a way Pillow itself
    refuses (no IHDR, an unknown colour type)."""
    chunks = list(_chunks(data))
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) < 13:
        return None
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1][:13])
    if colour not in _CHANNELS:
        return None
    bits = _CHANNELS[colour] * depth
    streams: list[tuple[str, int, int, list[bytes]]] = []  # (what, width, height, compressed parts)
    for kind, body in chunks:
        if kind == b"fcTL" and len(body) >= 12:  # a frame of an animation: its own size, its data follows
            streams.append((f"frame {len(streams) + 1}", *struct.unpack(">II", body[4:12]), []))
        elif kind == b"IDAT":  # the image (or, after an fcTL, the animation's first frame)
            if not streams:
                streams.append(("image", width, height, []))
            streams[-1][3].append(body)
        elif kind == b"fdAT" and streams:
            streams[-1][3].append(body[4:])  # after the sequence number
    for what, frame_width, frame_height, parts in streams:
        needed = raw_size(frame_width, frame_height, bits, bool(interlace))
        try:
            got = _inflated_size(parts, needed)
        except zlib.error:
            return f"the {what}'s data is corrupt"
        if got < needed:
            return f"the {what}'s data ends after {got} of {needed} bytes"
    return None
