"""Images are decoded in full or refused, and one check's memory stays bounded: every image here is
a real file made with Pillow (or written chunk by chunk where Pillow would not write it)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from connectors.media import DEFAULT_MAX_PIXELS, ImageRejected, check_image
from connectors.png_data import raw_size

ROOT = Path(__file__).resolve().parents[2]


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, rows: bytes, interlace: int = 0, colour: int = 2, depth: int = 8) -> bytes:
    """A PNG with exactly the given (decompressed) row data in one IDAT."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def test_a_png_whose_data_covers_one_row_is_refused():
    """The review's case: 3000x3000 declared, one row of data; Pillow fills the rest with zeros."""
    one_row = b"\x00" + b"\x7f" * (3000 * 3)
    data = png(3000, 3000, one_row)
    assert len(data) < 200
    with pytest.raises(ImageRejected, match="truncated or corrupt: the image's data ends after 9001 of"):
        check_image(data, "short.png")


def test_a_png_one_byte_short_is_refused_and_a_whole_one_accepted():
    rows = b"".join(b"\x00" + bytes([y]) * (40 * 3) for y in range(30))
    assert check_image(png(40, 30, rows), "whole.png").height == 30
    with pytest.raises(ImageRejected, match="ends after 3629 of 3630 bytes"):
        check_image(png(40, 30, rows[:-1]), "short.png")


def test_interlaced_pngs_are_counted_per_pass():
    width, height = 13, 11  # odd sizes: some Adam7 passes have fewer columns and rows
    needed = raw_size(width, height, 24, interlaced=True)
    rows = bytes(needed)  # filter byte 0 and black pixels, pass after pass
    assert check_image(png(width, height, rows, interlace=1), "adam7.png").width == width
    with pytest.raises(ImageRejected, match="truncated"):
        check_image(png(width, height, rows[:-1], interlace=1), "adam7.png")


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
def test_complete_pngs_of_every_bit_depth_are_accepted(mode):
    image = Image.linear_gradient("L").resize((37, 23)).convert(mode)
    assert check_image(encode(image, "PNG"), "ok.png").width == 37
    assert check_image(encode(image, "PNG", optimize=True), "ok.png").height == 23


def apng(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (60, 40), (i * 80, 20, 200 - i * 60)) for i in range(frames)]
    return encode(images[0], "PNG", save_all=True, append_images=images[1:], duration=100)


def shorten_second_frame(data: bytes) -> bytes:
    """The second frame's fdAT data replaced by a complete zlib stream of only one row."""
    out, at = bytearray(data[:8]), 8
    seen = 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"fdAT":
            seen += 1
            if seen == 1:
                body = body[:4] + zlib.compress(b"\x00" + b"\x10" * (60 * 3))
        out += chunk(kind, body)
        at += 12 + length
    return bytes(out)


def test_an_animated_png_needs_every_frame_whole():
    data = apng()
    checked = check_image(data, "anim.png")
    assert checked.content_type == "image/png"
    with Image.open(io.BytesIO(checked.content)) as again:
        assert again.n_frames == 3
    with pytest.raises(ImageRejected, match="frame 2's data ends after 181 of"):
        check_image(shorten_second_frame(data), "anim.png")


def test_truncated_jpeg_is_refused_even_if_some_code_turned_on_load_truncated_images(monkeypatch):
    """The flag is process-wide: a library that sets it would make every cut file 'valid'."""
    data = encode(Image.effect_noise((200, 150), 40).convert("RGB"), "JPEG")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageRejected, match="LOAD_TRUNCATED_IMAGES"):
        check_image(data[: len(data) // 2], "cut.jpg")


def test_the_server_does_not_turn_on_load_truncated_images():
    """Importing the whole application (its client libraries among them) leaves the flag off."""
    code = "import server.app, server.cli, connectors.registry as r; from PIL import ImageFile; " \
           "[r.connector_class(k) for k in ('mastodon', 'x', 'matrix', 'webhook', 'email')]; " \
           "print(ImageFile.LOAD_TRUNCATED_IMAGES)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr


def test_the_default_pixel_limit_fits_a_24_megapixel_photo_and_refuses_more():
    assert 6000 * 4000 <= DEFAULT_MAX_PIXELS < 6000 * 6000


PEAK = textwrap.dedent("""
    import sys
    from connectors.media import check_image

    def high_water() -> int:  # kB; per address space, unlike ru_maxrss, which a child inherits
        status = open("/proc/self/status").read()
        return int(status.split("VmHWM:")[1].split()[0])

    data = open(sys.argv[1], "rb").read()
    before = high_water()
    check_image(data, "x", max_pixels=int(sys.argv[2]))
    print((high_water() - before) * 1024 / int(sys.argv[2]))
""")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak from Linux's /proc")
@pytest.mark.parametrize(("mode", "fmt", "bound"), [("RGB", "JPEG", 10), ("RGBA", "PNG", 12)])
def test_one_check_uses_a_bounded_number_of_bytes_per_pixel(tmp_path, mode, fmt, bound):
    """Peak memory of one check, measured in a fresh process: one decoded copy of the image (4 bytes
    a pixel in Pillow) and passing conversions; no copy after copy (it was 12 and 17 bytes a pixel)."""
    width, height = 3000, 3000
    image = Image.effect_noise((width // 16, height // 16), 30).resize((width, height)).convert(mode)
    path = tmp_path / f"big.{fmt.lower()}"
    image.save(path, fmt)
    result = subprocess.run([sys.executable, "-c", PEAK, str(path), str(width * height)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    bytes_per_pixel = float(result.stdout.strip() or "inf")
    assert bytes_per_pixel < bound, result.stderr
