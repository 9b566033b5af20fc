"""The image checks through the server: the pixel limit that bounds one upload's memory is the
server's setting (PROCESSCAFE_MAX_IMAGE_PIXELS), and a truncated image is a clear 422, stored
nowhere, with its metadata gone from what is stored when it is accepted."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from server.config import Settings
from server.models import Media
from tests.social.images import has_gps, jpeg_with_gps

LIMIT = 50_000


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret",
                    job_runner="none", deploy_examples=False, max_image_pixels=LIMIT).resolved()


def upload(api, data: bytes, name: str = "photo.jpg"):
    return api.post("/api/v1/media", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def png_with_one_row(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" + b"\x7f" * (width * 3))) + chunk(b"IEND", b""))


def stored(cafe) -> int:
    with cafe.db.read() as session:
        return session.query(Media).count()


def test_the_pixel_limit_is_the_servers_setting(admin_api, cafe):
    refused = upload(admin_api, jpeg(300, 200))  # 60 000 pixels
    assert refused.status_code == 422
    assert f"300x200 pixels; the limit is {LIMIT} pixels" in refused.get_json()["detail"]
    assert upload(admin_api, jpeg(250, 200)).status_code == 201
    assert stored(cafe) == 1


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PROCESSCAFE_DATA", str(tmp_path / "env-data"))
    monkeypatch.setenv("PROCESSCAFE_MAX_IMAGE_PIXELS", "1234567")
    assert Settings.from_env().max_image_pixels == 1234567


def test_a_png_with_missing_rows_is_a_clear_422(admin_api, cafe):
    refused = upload(admin_api, png_with_one_row(200, 200), "short.png")
    assert refused.status_code == 422
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert "truncated" in refused.get_json()["detail"]
    assert stored(cafe) == 0


def test_gps_is_stripped_from_what_is_stored(admin_api, cafe):
    data = jpeg_with_gps()
    assert has_gps(data)
    made = upload(admin_api, data)
    assert made.status_code == 201, made.get_json()
    served = admin_api.get(f"/api/v1/media/{made.get_json()['media_id']}")
    assert served.status_code == 200 and not has_gps(served.data)
