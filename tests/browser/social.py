"""The founding demo on the live server for the browser tests: its users, instances that have
reached a social step, and photos of delivery notes that look like one in the screenshots."""

from __future__ import annotations

import io
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from tests.browser.conftest import LiveCafe
from tests.conftest import ROOT

DEMO = ROOT / "examples" / "delivery-review.bpmn"
PEOPLE = {"dan": ["drivers"], "tom": ["team"], "tia": ["team"]}


def password(username: str) -> str:
    return f"{username}-web-password"


class Demo:
    def __init__(self, live: LiveCafe):
        self.live = live
        with open(DEMO, "rb") as f:
            deployed = live.api.post(live.url + "/api/v1/deployments", files={"file": ("delivery-review.bpmn", f)})
        assert deployed.status_code in (200, 201), deployed.text
        for username, groups in PEOPLE.items():
            created = live.api.post(live.url + "/api/v1/users", json={
                "username": username, "password": password(username), "groups": groups})
            assert created.status_code in (201, 409), created.text

    def start(self, delivery_id: str) -> dict:
        return self.live.start("delivery_review", business_key=delivery_id, variables={
            "delivery_id": delivery_id, "customer": "ACME", "channels": "feed", "reviewers": "team"})

    def task(self, instance_id: str, task_type: str, timeout: float = 20) -> dict:
        """The instance's open task of this type, once the job runner has brought it there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tasks = self.live.api.get(f"{self.live.url}/api/v1/tasks?instance_id={instance_id}").json()["items"]
            found = [t for t in tasks if t["type"] == task_type]
            if found:
                return found[0]
            time.sleep(0.2)
        raise AssertionError(f"no {task_type} task in {instance_id} after {timeout}s: {tasks}")

    def attach(self, task_id: str, delivery_id: str) -> dict:
        """The driver's photo, sent through the API (the upload test sends one through the page)."""
        files = {"file": ("note.jpg", delivery_note(delivery_id), "image/jpeg")}
        sent = self.live.api.post(f"{self.live.url}/api/v1/tasks/{task_id}/image", files=files)
        assert sent.status_code == 201, sent.text
        return sent.json()


def delivery_note(delivery_id: str, size: tuple[int, int] = (960, 720)) -> bytes:
    """A photo-like JPEG of a signed delivery note; the id is written on it, so each is a new image
    (images are stored by content: the same bytes twice are one image)."""
    width, height = size
    image = Image.new("RGB", size, (74, 63, 52))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 40, width - 60, height - 40), fill=(250, 248, 240))
    title, text = ImageFont.load_default(size=44), ImageFont.load_default(size=26)
    draw.text((100, 80), f"DELIVERY NOTE {delivery_id}", font=title, fill=(30, 30, 30))
    draw.text((100, 150), "Customer: ACME  ·  3 pallets  ·  received in good order", font=text, fill=(60, 60, 60))
    for row in range(6):
        y = 220 + row * 52
        draw.line((100, y, width - 100, y), fill=(200, 196, 186), width=2)
        draw.text((110, y - 36), f"Item {row + 1}   Box of parts   qty {row * 3 + 2}", font=text, fill=(80, 80, 80))
    points = [(width - 420 + i * 12, height - 130 + (18 if i % 3 else -22) + i % 5 * 4) for i in range(26)]
    draw.line(points, fill=(20, 50, 160), width=5)
    draw.text((width - 420, height - 90), "signed: customer", font=text, fill=(60, 60, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def write_note(folder: Path, delivery_id: str) -> Path:
    path = folder / f"note-{delivery_id}.jpg"
    path.write_bytes(delivery_note(delivery_id))
    return path
