"""Small JPEG thumbnails of evidence photos, for the case page and the printed case file.

Pillow decodes the stored photo (already checked when it was added) and writes a JPEG no larger
than ``size`` pixels on its long side, turned upright by its EXIF orientation (phone photos are
stored sideways with an orientation tag)."""

from __future__ import annotations

import base64
import io
import logging

from django.core.files.storage import default_storage
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

THUMB_PX = 360


def thumbnail_jpeg(name: str, *, size: int = THUMB_PX) -> bytes | None:
    """The thumbnail of the stored file ``name``; None when it cannot be read."""
    try:
        with default_storage.open(name, "rb") as stored, Image.open(stored) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((size, size))
            if image.mode not in ("RGB", "L"):
                # Transparent parts of a PNG on white, not black.
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, "white")
                image.paste(rgba, mask=rgba.getchannel("A"))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=82, optimize=True)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError):
        log.warning("no thumbnail for stored evidence %s", name, exc_info=True)
        return None


def data_uri(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
