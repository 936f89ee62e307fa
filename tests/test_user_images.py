"""Tests for loading a user's zip of class folders and zipping a folder from disk."""

import io
import os
import struct
import zipfile
import zlib

import numpy as np
import pytest
from PIL import Image

from nnapps.data import user_images
from nnapps.data.dataset import DatasetUnavailable


def image_bytes(colour=(200, 30, 30), size=(20, 12), mode="RGB", fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, fmt)
    return buffer.getvalue()


def png16_rgba(width: int, height: int, pixel=(0, 0, 0, 0)) -> bytes:
    """A 16-bit RGBA PNG (Pillow cannot write one) of one colour, written chunk by chunk."""
    row = b"\0" + struct.pack(">4H", *pixel) * width  # filter type 0, then the pixels
    deflate = zlib.compressobj(9)
    pixels = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def two_classes(prefix="", **kwargs) -> dict[str, bytes]:
    return {f"{prefix}cats/a.png": image_bytes(**kwargs), f"{prefix}cats/b.png": image_bytes(**kwargs),
            f"{prefix}dogs/c.png": image_bytes(**kwargs), f"{prefix}dogs/d.png": image_bytes(**kwargs)}


def test_good_archive_with_wrapping_folder_and_junk():
    members = {
        "myset/": b"",
        "myset/cats/": b"",
        "myset/cats/a.png": image_bytes((250, 0, 0), (40, 20)),
        "myset/cats/b.JPG": image_bytes((240, 10, 10), (16, 16), fmt="JPEG"),
        "myset/dogs/c.jpeg": image_bytes((0, 0, 250), (10, 30), fmt="JPEG"),
        "myset/dogs/d.png": image_bytes((0, 0, 255), (64, 64)),
        "myset/owls/e.png": image_bytes((0, 255, 0), (5, 7)),
        "myset/owls/f.png": image_bytes((0, 250, 0), (300, 100)),
        "myset/owls/notes.txt": b"not an image",
        "myset/owls/.hidden.png": b"garbage",
        "myset/.DS_Store": b"junk",
        "__MACOSX/myset/cats/._a.png": b"resource fork",
    }
    raw = user_images.load_image_archive(make_zip(members), size=16)
    assert raw.class_names == ["cats", "dogs", "owls"]
    assert raw.X.shape == (6, 3, 16, 16)
    assert raw.X.dtype == np.float32 and raw.y.dtype == np.int64
    assert raw.y.tolist() == [0, 0, 1, 1, 2, 2]
    assert 0.0 <= raw.X.min() and raw.X.max() <= 1.0
    # Solid pictures stay solid: padding uses the border colour, so no stripes appear.
    assert np.allclose(raw.X[0, 0], 250 / 255, atol=0.01)
    assert np.allclose(raw.X[3, 2], 1.0, atol=0.01)


def test_grey_images_give_one_channel():
    members = {
        "a/1.png": image_bytes(100, mode="L"),
        "a/2.png": image_bytes((90, 90, 90)),  # RGB but grey
        "b/3.jpg": image_bytes((10, 10, 10), fmt="JPEG"),
        "b/4.png": image_bytes(1, mode="1"),
    }
    raw = user_images.load_image_archive(make_zip(members), size=8)
    assert raw.X.shape == (4, 1, 8, 8)
    assert np.allclose(raw.X[0], 100 / 255, atol=0.01)
    assert np.allclose(raw.X[3], 1.0)


def test_one_colour_image_makes_every_image_three_channels():
    members = two_classes(colour=120, mode="L")
    members["dogs/colour.png"] = image_bytes((0, 200, 0))
    raw = user_images.load_image_archive(make_zip(members), size=8)
    assert raw.X.shape == (5, 3, 8, 8)
    grey = raw.X[0]
    assert np.allclose(grey[0], grey[1]) and np.allclose(grey[1], grey[2])


def test_transparency_is_laid_over_white():
    members = two_classes(colour=(255, 0, 0, 0), mode="RGBA")  # fully transparent red
    raw = user_images.load_image_archive(make_zip(members), size=8)
    assert raw.X.shape == (4, 1, 8, 8)  # white everywhere, so grey
    assert np.allclose(raw.X, 1.0)
    members["cats/a.png"] = image_bytes((0, 0, 255, 255), mode="RGBA")
    raw = user_images.load_image_archive(make_zip(members), size=8)
    assert raw.X.shape == (4, 3, 8, 8)
    assert np.allclose(raw.X[0, 2], 1.0) and np.allclose(raw.X[0, 0], 0.0)


def test_sixteen_bit_grey_png_is_scaled_not_clipped():
    buffer = io.BytesIO()
    Image.fromarray(np.full((6, 6), 32896, dtype=np.uint16)).save(buffer, "PNG")
    members = two_classes(colour=0, mode="L")
    members["cats/a.png"] = buffer.getvalue()
    raw = user_images.load_image_archive(make_zip(members), size=4)
    assert np.allclose(raw.X[0], 128 / 255, atol=0.01)


def test_palette_cmyk_and_sixteen_bit_rgba_images_load_in_their_colours():
    palette = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 200, 0)).convert("P", palette=Image.Palette.ADAPTIVE).save(palette, "PNG")
    see_through = io.BytesIO()
    clear = Image.new("P", (6, 6), 1)
    clear.putpalette([0, 0, 0, 255, 0, 0])
    clear.save(see_through, "PNG", transparency=1)  # palette entry 1 is fully transparent
    members = {"a/palette.png": palette.getvalue(), "a/clear.png": see_through.getvalue(),
               "b/cmyk.jpg": image_bytes((0, 255, 255, 0), mode="CMYK", fmt="JPEG"),  # red in ink
               "b/rgba16.png": png16_rgba(12, 5, (0, 0, 65535, 65535))}
    raw = user_images.load_image_archive(make_zip(members), size=8)
    assert raw.X.shape == (4, 3, 8, 8)
    # Sorted by name: a/clear, a/palette, b/cmyk, b/rgba16.
    expected = [(1, 1, 1), (0, 200 / 255, 0), (1, 0, 0), (0, 0, 1)]
    for image, colour in zip(raw.X, expected):
        centre = image[:, 4, 4]
        assert np.allclose(centre, colour, atol=0.03), (centre, colour)


def test_exif_orientation_is_applied():
    # Stored wide, left half red and right half blue; EXIF orientation 6 says "turn clockwise to
    # view", so the picture a person sees is tall, red on top.
    stored = np.zeros((16, 32, 3), dtype=np.uint8)
    stored[:, :16, 0] = 255
    stored[:, 16:, 2] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    members = two_classes()
    members["cats/a.png"] = buffer.getvalue()
    image = user_images.load_image_archive(make_zip(members), size=16).X[0]
    top, bottom = image[:, 2, 8], image[:, 13, 8]  # the middle column: the picture, not the padding
    assert top[0] > 0.9 and top[2] < 0.1 and bottom[2] > 0.9 and bottom[0] < 0.1


def test_a_pixel_bomb_is_refused_from_the_headers(monkeypatch):
    # Issue 16: tiny PNGs of 4000 x 4000 16-bit RGBA passed every size check and took half an
    # hour to decode. Their headers say what they cost; nothing is decoded.
    bomb = png16_rgba(4000, 4000)
    data = make_zip({f"{'ab'[i % 2]}/{i}.png": bomb for i in range(1700)})
    assert len(data) < 2**20
    with pytest.raises(DatasetUnavailable, match=r"the 1,700 images hold 27,200 million pixels to decode; "
                                                 r"this copy allows at most 20,000 \(NNAPPS_MAX_MEGAPIXELS\)"):
        user_images.load_image_archive(data)
    monkeypatch.setenv("NNAPPS_PUBLIC", "1")
    with pytest.raises(DatasetUnavailable, match=r"at most 2,000 \(NNAPPS_MAX_MEGAPIXELS\)"):
        user_images.load_image_archive(data)


def test_a_jpeg_counts_the_pixels_it_decodes_at_its_reduced_scale(monkeypatch):
    members = two_classes(size=(8, 8))
    members["cats/photo.jpg"] = image_bytes(size=(2000, 1000), fmt="JPEG")  # decoded at 1/8: 250 x 125
    monkeypatch.setenv("NNAPPS_MAX_MEGAPIXELS", str((250 * 125 + 4 * 64) / 1e6))
    assert len(user_images.load_image_archive(make_zip(members), size=32).y) == 5
    monkeypatch.setenv("NNAPPS_MAX_MEGAPIXELS", str((250 * 125 + 4 * 64 - 1) / 1e6))
    with pytest.raises(DatasetUnavailable, match="NNAPPS_MAX_MEGAPIXELS"):
        user_images.load_image_archive(make_zip(members), size=32)


def test_order_is_sorted_whatever_the_zip_order():
    members = two_classes()
    shuffled = dict(reversed(list(members.items())))
    a = user_images.load_image_archive(make_zip(members), size=8)
    b = user_images.load_image_archive(make_zip(shuffled), size=8)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)


@pytest.mark.parametrize("name", ["../evil.png", "/abs.png", "cats/../../evil.png", "C:/win.png",
                                  "cats\\..\\..\\evil.png"])
def test_zip_slip_member_is_refused_by_name(name):
    members = two_classes()
    members[name] = image_bytes()
    with pytest.raises(DatasetUnavailable, match="points outside the archive") as caught:
        user_images.load_image_archive(make_zip(members))
    assert repr(name) in str(caught.value)


def test_one_class_only():
    members = {"cats/a.png": image_bytes(), "cats/b.png": image_bytes()}
    with pytest.raises(DatasetUnavailable,
                       match=r"found 1 class \(cats\); need at least two folders of images"):
        user_images.load_image_archive(make_zip(members))


def test_class_with_one_image():
    members = two_classes()
    del members["dogs/d.png"]
    with pytest.raises(DatasetUnavailable, match=r"at least 2 images; too few in: dogs \(1\)"):
        user_images.load_image_archive(make_zip(members))


def test_no_images():
    members = {"cats/readme.txt": b"hello", "__MACOSX/cats/._a.png": b"x", "dogs/": b""}
    with pytest.raises(DatasetUnavailable, match="no PNG or JPEG images found"):
        user_images.load_image_archive(make_zip(members))


def test_images_at_the_root():
    members = two_classes()
    members["loose.png"] = image_bytes()
    with pytest.raises(DatasetUnavailable, match="loose.png is not inside a class folder"):
        user_images.load_image_archive(make_zip(members))


def test_corrupt_image_is_named():
    members = two_classes()
    members["cats/bad.png"] = image_bytes()[:40]  # truncated
    with pytest.raises(DatasetUnavailable, match="cats/bad.png is not a readable PNG or JPEG image"):
        user_images.load_image_archive(make_zip(members))
    members["cats/bad.png"] = b"this is text, not pixels"
    with pytest.raises(DatasetUnavailable, match="cats/bad.png is not a readable PNG or JPEG image"):
        user_images.load_image_archive(make_zip(members))


def test_image_in_another_format_is_refused():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "GIF")
    members = two_classes()
    members["dogs/gif.png"] = buffer.getvalue()
    with pytest.raises(DatasetUnavailable, match="dogs/gif.png is not a readable PNG or JPEG"):
        user_images.load_image_archive(make_zip(members))


def test_not_a_zip():
    with pytest.raises(DatasetUnavailable, match="not a zip archive"):
        user_images.load_image_archive(b"PK but not really a zip file at all")
    with pytest.raises(DatasetUnavailable, match="not a zip archive"):
        user_images.load_image_archive(image_bytes())


def test_too_many_images(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_DATASET_ITEMS", "3")
    with pytest.raises(DatasetUnavailable, match=r"holds 4 images; this copy allows at most 3 "
                                                 r"\(NNAPPS_MAX_DATASET_ITEMS\)"):
        user_images.load_image_archive(make_zip(two_classes()))


def test_too_large_member(monkeypatch):
    members = two_classes()
    members["dogs/big.png"] = image_bytes(size=(200, 200)) + b"\0" * 5000
    monkeypatch.setenv("NNAPPS_MAX_MEMBER_MB", str(4000 / 2**20))
    with pytest.raises(DatasetUnavailable, match=r"dogs/big.png is .* MB uncompressed; this copy allows "
                                                 r"at most .* \(NNAPPS_MAX_MEMBER_MB\)"):
        user_images.load_image_archive(make_zip(members))


def test_too_large_in_total(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_ARCHIVE_MB", str(100 / 2**20))
    with pytest.raises(DatasetUnavailable, match=r"MB uncompressed; .*\(NNAPPS_MAX_ARCHIVE_MB\)"):
        user_images.load_image_archive(make_zip(two_classes()))


def test_too_many_classes(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_CLASSES", "2")
    members = two_classes()
    members.update({"owls/e.png": image_bytes(), "owls/f.png": image_bytes()})
    with pytest.raises(DatasetUnavailable, match=r"found 3 classes; this copy allows at most 2 "
                                                 r"\(NNAPPS_MAX_CLASSES\)"):
        user_images.load_image_archive(make_zip(members))


def test_too_many_pixels(monkeypatch):
    monkeypatch.setenv("NNAPPS_MAX_IMAGE_SIDE", "16")
    members = two_classes(size=(16, 16))
    members["cats/wide.png"] = image_bytes(size=(17, 4))
    with pytest.raises(DatasetUnavailable, match=r"cats/wide.png is 17 x 4 pixels; this copy allows at "
                                                 r"most 16 \(NNAPPS_MAX_IMAGE_SIDE\)"):
        user_images.load_image_archive(make_zip(members))


def test_decoded_memory_is_bounded_before_decoding(monkeypatch):
    # 4 images of 3 x 32 x 32 float32 are 48 KiB decoded.
    monkeypatch.setenv("NNAPPS_MAX_DECODED_MB", str(40 / 1024))
    with pytest.raises(DatasetUnavailable, match=r"4 images of 32 x 32 take 0 MB decoded; .*NNAPPS_MAX_DECODED_MB"):
        user_images.load_image_archive(make_zip(two_classes()), size=32)
    monkeypatch.setenv("NNAPPS_MAX_DECODED_MB", str(48 / 1024))
    assert user_images.load_image_archive(make_zip(two_classes()), size=32).X.shape == (4, 3, 32, 32)


@pytest.mark.parametrize("pixels", [12 * 12, 20 * 20])  # Pillow warns above its limit, fails at 2x
def test_decompression_bomb_is_refused(monkeypatch, pixels):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    side = int(pixels ** 0.5)
    members = two_classes(size=(4, 4))
    members["dogs/bomb.png"] = image_bytes(size=(side, side))
    with pytest.raises(DatasetUnavailable, match="dogs/bomb.png has more pixels than Pillow decodes safely"):
        user_images.load_image_archive(make_zip(members))


def write_folder(root, members: dict[str, bytes]):
    for name, data in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_zip_folder_round_trip(tmp_path):
    folder = tmp_path / "pets"
    write_folder(folder, two_classes())
    write_folder(folder, {".git/HEAD": b"ref", "cats/.DS_Store": b"junk"})
    outside = tmp_path / "secret.png"
    outside.write_bytes(image_bytes())
    os.symlink(outside, folder / "cats" / "leak.png")
    os.symlink(folder / "cats" / "a.png", folder / "dogs" / "inside.png")

    data = user_images.zip_folder(folder)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names == ["cats/a.png", "cats/b.png", "dogs/c.png", "dogs/d.png", "dogs/inside.png"]
    assert user_images.zip_folder(folder) == data  # same folder, same bytes
    raw = user_images.load_image_archive(data, size=8)
    assert raw.class_names == ["cats", "dogs"]
    assert raw.y.tolist() == [0, 0, 1, 1, 1]


def test_zip_folder_limits(tmp_path, monkeypatch):
    write_folder(tmp_path / "pets", two_classes())
    monkeypatch.setenv("NNAPPS_MAX_UPLOAD_MB", str(100 / 2**20))
    with pytest.raises(DatasetUnavailable, match=r"MB of files; .*\(NNAPPS_MAX_UPLOAD_MB\)"):
        user_images.zip_folder(tmp_path / "pets")
    with pytest.raises(DatasetUnavailable, match="no such folder"):
        user_images.zip_folder(tmp_path / "missing")
