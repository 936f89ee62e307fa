"""Images for display: upscaled PNGs and data URIs for table thumbnails."""

import base64
import io

import numpy as np
from PIL import Image


def to_pil(item: np.ndarray, scale: int = 1) -> Image.Image:
    """(C, H, W) floats in [0, 1] to a PIL image, enlarged by scale with crisp pixels."""
    pixels = (np.clip(item, 0, 1) * 255).astype(np.uint8)
    img = Image.fromarray(pixels[0]) if pixels.shape[0] == 1 else Image.fromarray(pixels.transpose(1, 2, 0))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def display_scale(item: np.ndarray, target: int = 96) -> int:
    return max(1, target // max(item.shape[-2:]))


def png_uri(picture: Image.Image) -> str:
    """A picture as a PNG data: URI, for st.column_config.ImageColumn."""
    buf = io.BytesIO()
    picture.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def data_uri(item: np.ndarray, target: int = 48) -> str:
    """A small PNG of an image item as a data: URI."""
    return png_uri(to_pil(item, display_scale(item, target)))
