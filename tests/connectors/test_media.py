"""Image checks: every image is made here with Pillow, including the hostile ones."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from connectors.base import MediaFile
from connectors.media import DEFAULT_MAX_PIXELS, ImageRejected, check_image

GPS_IFD, ORIENTATION = 0x8825, 0x0112


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def two_colour(width: int = 40, height: int = 20) -> Image.Image:
    """Left half red, right half blue: orientation mistakes show as wrong colours in wrong places."""
    image = Image.new("RGB", (width, height), (255, 0, 0))
    image.paste((0, 0, 255), (width // 2, 0, width, height))
    return image


def jpeg_with_gps_and_orientation() -> bytes:
    image = two_colour()
    exif = image.getexif()
    exif[ORIENTATION] = 6  # stored sideways; shown rotated 90 degrees clockwise
    exif[0x010F] = "CameraMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 18.0)})
    return encode(image, "JPEG", exif=exif, comment=b"taken at home", quality=95)


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few dozen bytes whose header claims width x height pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_jpeg_loses_gps_and_all_metadata_and_is_oriented():
    data = jpeg_with_gps_and_orientation()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the input does carry a position

    checked = check_image(data, "holiday.jpg")

    out = Image.open(io.BytesIO(checked.content))
    assert out.format == "JPEG" and checked.content_type == "image/jpeg"
    assert not out.getexif() and not out.getexif().get_ifd(GPS_IFD)
    assert "exif" not in out.info and "comment" not in out.info
    assert b"CameraMaker" not in checked.content and b"taken at home" not in checked.content
    assert (checked.width, checked.height) == (20, 40) == out.size  # rotated: portrait now
    top, bottom = out.convert("RGB").getpixel((10, 5)), out.convert("RGB").getpixel((10, 35))
    assert top[0] > 200 > top[2] and bottom[2] > 200 > bottom[0]  # the red left half is now on top
    assert checked.sha256 == hashlib.sha256(checked.content).hexdigest()
    assert checked.filename == "holiday.jpg"


def test_png_text_exif_and_icc_are_stripped_unless_icc_is_kept():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    info = PngInfo()
    info.add_text("Location", "52.5200 N, 13.4050 E")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    data = encode(two_colour(), "PNG", pnginfo=info, exif=exif, icc_profile=icc)

    stripped = check_image(data, "scan.png")
    kept = check_image(data, "scan.png", keep_icc=True)

    out = Image.open(io.BytesIO(stripped.content))
    assert out.format == "PNG" and stripped.content_type == "image/png"
    assert not out.text and "exif" not in out.info and "icc_profile" not in out.info
    assert b"52.5200" not in stripped.content and b"CameraMaker" not in stripped.content
    assert Image.open(io.BytesIO(kept.content)).info.get("icc_profile") == icc


def test_format_is_decided_by_content_not_name():
    checked = check_image(encode(two_colour(), "JPEG"), "../../etc/evil name.png")
    assert checked.content_type == "image/jpeg"
    assert checked.filename == "evil_name.jpg"


def test_animated_gif_keeps_its_frames():
    frames = [Image.new("RGB", (30, 20), colour) for colour in ("red", "green", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0,
                  comment=b"secret note")

    checked = check_image(data, "wave.gif")

    out = Image.open(io.BytesIO(checked.content))
    assert out.format == "GIF" and checked.content_type == "image/gif"
    assert out.n_frames == 3 and (checked.width, checked.height) == (30, 20)
    assert b"secret note" not in checked.content
    assert checked.thumbnail_type in ("image/jpeg", "image/png")


def test_webp_with_transparency_gets_a_png_thumbnail():
    image = Image.new("RGBA", (1000, 500), (0, 128, 0, 128))
    checked = check_image(encode(image, "WEBP", quality=80), "leaf.webp")

    assert checked.content_type == "image/webp" and Image.open(io.BytesIO(checked.content)).format == "WEBP"
    assert checked.thumbnail_type == "image/png"
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert thumb.size == (320, 160) and thumb.mode == "RGBA"


def test_large_jpeg_gets_a_small_jpeg_thumbnail():
    checked = check_image(encode(two_colour(2000, 1000), "JPEG"), "wide.jpg")
    thumb = Image.open(io.BytesIO(checked.thumbnail))
    assert checked.thumbnail_type == "image/jpeg" and thumb.format == "JPEG" and thumb.size == (320, 160)


def test_checked_image_becomes_a_media_file():
    media = check_image(encode(two_colour(), "PNG"), "a.png").as_media("a red and blue flag")
    assert media == MediaFile(media.content, "image/png", "a.png", "a red and blue flag")


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
    (b"  <svg width='10' height='10'/>", "SVG"),
    (random.Random(7).randbytes(4096), "not a JPEG, PNG, WebP or GIF"),
    (encode(two_colour(), "BMP"), "not a JPEG, PNG, WebP or GIF"),
    (encode(two_colour(), "TIFF"), "not a JPEG, PNG, WebP or GIF"),
    (encode(two_colour(400, 300), "JPEG")[:600], "truncated or corrupt"),
    (encode(two_colour(400, 300), "PNG")[:200], "truncated or corrupt"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "truncated or corrupt"),
])
def test_refused(data, reason):
    with pytest.raises(ImageRejected, match=reason):
        check_image(data, "upload.jpg")


def test_decompression_bomb_declared_in_a_tiny_png():
    bomb = png_declaring(100_000, 100_000)  # 10 gigapixels in a few dozen bytes
    assert len(bomb) < 100
    with pytest.raises(ImageRejected, match="too many pixels"):
        check_image(bomb, "bomb.png")


def test_explicit_pixel_limit_applies_before_decoding():
    with pytest.raises(ImageRejected, match=rf"8000x8000 pixels; the limit is {DEFAULT_MAX_PIXELS}"):
        check_image(png_declaring(8000, 8000), "big.png")
    with pytest.raises(ImageRejected, match="the limit is 1000000"):
        check_image(encode(two_colour(1200, 1000), "JPEG"), "big.jpg", max_pixels=1_000_000)
    assert check_image(encode(two_colour(1000, 1000), "JPEG"), "ok.jpg", max_pixels=1_000_000).width == 1000


def test_pixel_limit_counts_every_frame_of_an_animation():
    frames = [Image.new("RGB", (100, 100), (i * 12, 0, 255 - i * 12)) for i in range(20)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageRejected, match="over all its frames"):
        check_image(data, "long.gif", max_pixels=100_000)
    assert check_image(data, "long.gif", max_pixels=200_000).content_type == "image/gif"


def test_byte_limit():
    data = encode(two_colour(), "PNG")
    with pytest.raises(ImageRejected, match=f"the file is {len(data)} bytes; the limit is 10 bytes"):
        check_image(data, "a.png", max_bytes=10)
