"""Checking uploaded images before anything else touches them.

Images come from people we do not control (an upload step, a reply on a network), so every one is
treated as hostile until proven otherwise: the format is decided by its first bytes (never by the
file name), only four raster formats are opened, and only by their own Pillow plugin; the pixel
count is limited before any pixel is decoded (decompression bombs); the file is fully decoded (a
truncated file is refused, not half-shown: Pillow's LOAD_TRUNCATED_IMAGES must be off, and a PNG
whose data ends before its last row, which Pillow fills with zeros silently, is refused by
`png_data`); and it is re-encoded from pixels, so GPS position, camera serials, comments and every
other piece of metadata are gone. EXIF orientation is applied first, because the orientation tag
goes with the rest of the metadata.

Memory: Pillow holds a decoded pixel in 4 bytes (1 for palette and grey images), and the check
keeps one decoded copy of the image (of all frames of an animation) plus small thumbnails; a second
full copy exists only for a moment where a conversion, rotation or the thumbnail's scaling needs
one, and the encoders keep buffers of their own. Measured peaks per pixel of `max_pixels`: about
9 bytes for JPEG and PNG (225 MB at the default of 25 million) and 19 for WebP (475 MB: libwebp
decodes and encodes through full-size buffers of its own); count that for each upload that may be
checked at the same time.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from PIL import Image, ImageFile, ImageOps, ImageSequence, UnidentifiedImageError

from .base import MediaFile
from .png_data import short_png_data

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 25_000_000  # counted over all frames of an animation; a 24-megapixel photo fits
THUMBNAIL_SIZE = 320

# Pillow format name -> (content type, extension). MPO is how Pillow names a camera JPEG with a second
# (depth/preview) picture in it; we keep the first picture only.
_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
            "WEBP": ("image/webp", "webp"), "GIF": ("image/gif", "gif")}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, UnidentifiedImageError,
                  Image.DecompressionBombError, Image.DecompressionBombWarning)


class ImageRejected(ValueError):
    """The file is not an image we accept; the message says why, in words fit for the uploader."""


@dataclass(frozen=True)
class CheckedImage:
    content: bytes  # re-encoded, metadata-free
    content_type: str
    filename: str  # the given name with an extension that matches the content
    width: int
    height: int
    sha256: str  # of `content`
    thumbnail: bytes
    thumbnail_type: str

    def as_media(self, description: str | None = None) -> MediaFile:
        return MediaFile(self.content, self.content_type, self.filename, description)


def sniff(data: bytes) -> str | None:
    """The Pillow format name for the first bytes, for the four formats we accept; else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def check_image(data: bytes, filename: str, max_bytes: int = DEFAULT_MAX_BYTES,
                max_pixels: int = DEFAULT_MAX_PIXELS, keep_icc: bool = False) -> CheckedImage:
    """Validate `data` as a JPEG, PNG, WebP or GIF image and return a clean re-encoded copy.

    Raises ImageRejected for anything else: empty or too large files, other formats (SVG, BMP, TIFF,
    PDF, ...), truncated or corrupt files, and images with more than `max_pixels` pixels.
    """
    if not data:
        raise ImageRejected("the file is empty")
    if len(data) > max_bytes:
        raise ImageRejected(f"the file is {len(data)} bytes; the limit is {max_bytes} bytes")
    fmt = sniff(data)
    if fmt is None:
        head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if head.startswith(b"<") or b"<svg" in head:
            raise ImageRejected("SVG, XML and HTML files are not accepted; send a JPEG, PNG, WebP or GIF image")
        raise ImageRejected("not a JPEG, PNG, WebP or GIF image")
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # some code in this process turned it on: nothing can be checked
        raise ImageRejected("images cannot be checked here (Pillow's LOAD_TRUNCATED_IMAGES is on); "
                            "tell the administrator")
    try:
        # Not a `with` block: closing would free the decoded pixels a single-frame image keeps using.
        # The bytes are in memory, so there is no file to close.
        im = Image.open(io.BytesIO(data), formats=[fmt])
        _check_pixels(im.width, im.height, max_pixels)
        if fmt == "PNG" and (short := short_png_data(data)):
            raise ImageRejected(f"the PNG file is truncated or corrupt: {short}")
        icc = im.info.get("icc_profile") if keep_icc else None
        loop = im.info.get("loop", 0)
        frames, durations = _decode_frames(im, fmt, max_pixels)
        fmt = "JPEG" if im.format == "MPO" else im.format
    except ImageRejected:
        raise
    except _DECODE_ERRORS as err:
        if isinstance(err, Image.DecompressionBombError | Image.DecompressionBombWarning):
            raise ImageRejected(f"the image has too many pixels (the limit is {max_pixels})") from None
        raise ImageRejected(f"the {fmt} file is truncated or corrupt") from None
    content = _encode(frames, durations, fmt, icc, loop)
    content_type, extension = _FORMATS[fmt]
    first = frames[0]
    thumbnail, thumbnail_type = _thumbnail(first)
    return CheckedImage(content=content, content_type=content_type, filename=_filename(filename, extension),
                        width=first.width, height=first.height, sha256=hashlib.sha256(content).hexdigest(),
                        thumbnail=thumbnail, thumbnail_type=thumbnail_type)


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width < 1 or height < 1:
        raise ImageRejected("the image has no pixels")
    if width * height > max_pixels:
        raise ImageRejected(f"the image is {width}x{height} pixels; the limit is {max_pixels} pixels")


def _decode_frames(im: Image.Image, fmt: str, max_pixels: int) -> tuple[list[Image.Image], list[int]]:
    """Decode every frame (one for JPEG), oriented, with no metadata left in `info`.

    Frames are decoded one at a time and counted against the pixel budget as we go, so a small GIF
    with ten thousand frames stops early instead of using a CPU minute and gigabytes. A single
    frame is used as decoded (rotated in place), with no copy; an animation's frames are copies,
    since the next frame is decoded into the same image.
    """
    if fmt == "JPEG" or getattr(im, "n_frames", 1) == 1:
        im.load()  # raises on truncated data
        durations = [int(im.info.get("duration", 0) or 0)]
        ImageOps.exif_transpose(im, in_place=True)
        transparency = im.info.get("transparency")
        im.info = {} if transparency is None else {"transparency": transparency}
        return [im], durations
    frames: list[Image.Image] = []
    durations = []
    budget = max_pixels
    for frame in ImageSequence.Iterator(im):
        budget -= frame.width * frame.height
        if budget < 0:
            raise ImageRejected(f"the animation has too many pixels over all its frames (the limit is {max_pixels})")
        frame.load()  # raises on truncated data (Pillow's LOAD_TRUNCATED_IMAGES is off)
        durations.append(int(frame.info.get("duration", 0) or 0))
        clean = ImageOps.exif_transpose(frame)
        transparency = frame.info.get("transparency")
        clean.info = {} if transparency is None else {"transparency": transparency}
        frames.append(clean)
    return frames, durations


def _encode(frames: list[Image.Image], durations: list[int], fmt: str, icc: bytes | None, loop: int) -> bytes:
    """Write the frames in their original format, passing only the options we choose (no exif, no text)."""
    options: dict = {"icc_profile": icc} if icc else {}
    first, rest = frames[0], frames[1:]
    if fmt == "JPEG":
        if first.mode not in ("RGB", "L"):
            first = first.convert("RGB")
        options.update(quality=90, optimize=True)
    elif fmt == "WEBP":
        frames = [f if f.mode in ("RGB", "RGBA") else f.convert("RGBA") for f in frames]
        first, rest = frames[0], frames[1:]
        options.update(quality=90)
    if rest:
        options.update(save_all=True, append_images=rest, duration=durations, loop=loop)
    out = io.BytesIO()
    first.save(out, format=fmt, **options)
    return out.getvalue()


def _thumbnail(frame: Image.Image) -> tuple[bytes, str]:
    """A small preview for task lists: PNG when the image has transparency, JPEG otherwise."""
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or "transparency" in frame.info
    # Scaled down before the conversion where the mode allows (palette and other modes are converted
    # first), so that at most one full-size copy is made on the way.
    small = frame if frame.mode in ("RGB", "RGBA", "L", "LA") else frame.convert("RGBA" if has_alpha else "RGB")
    scale = THUMBNAIL_SIZE / max(small.width, small.height)
    if scale < 1:
        size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
        small = small.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    small = small.convert("RGBA" if has_alpha else "RGB")
    out = io.BytesIO()
    if has_alpha:
        small.save(out, format="PNG", optimize=True)
        return out.getvalue(), "image/png"
    small.save(out, format="JPEG", quality=80)
    return out.getvalue(), "image/jpeg"


def _filename(name: str, extension: str) -> str:
    """The base name without directories or odd characters, with the extension the content deserves."""
    stem = re.sub(r"[^\w.-]+", "_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return f"{stem[:80] or 'image'}.{extension}"
