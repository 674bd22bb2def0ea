"""Image loading: formats, orientation, modes, 16-bit scaling, and refusal of bad files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from aikon.errors import AikonError, ImageTooLargeError, InputError
from aikon.imaging import DEFAULT_MAX_PIXELS, check_image, default_max_pixels, load_image


def _pattern(height: int = 30, width: int = 40) -> np.ndarray:
    """A smooth colour pattern (JPEG-friendly) with every channel different."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), 255 - x * 255 // (width - 1)],
                    axis=2).astype(np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.mark.parametrize("suffix, fmt, options, tolerance", [
    (".jpg", "JPEG", {"quality": 95}, 6.0),
    (".png", "PNG", {}, 0.0),
    (".webp", "WEBP", {"lossless": True}, 0.0),
    (".tif", "TIFF", {}, 0.0),
    (".bmp", "BMP", {}, 0.0),
])
def test_formats_load_as_rgb_uint8(tmp_path: Path, suffix: str, fmt: str, options: dict, tolerance: float) -> None:
    expected = _pattern()
    path = tmp_path / f"pattern{suffix}"
    Image.fromarray(expected).save(path, fmt, **options)
    loaded = load_image(path)
    assert loaded.shape == (30, 40, 3) and loaded.dtype == np.uint8
    assert np.abs(loaded.astype(int) - expected.astype(int)).mean() <= tolerance


def test_exif_orientation_6_rotates_clockwise(tmp_path: Path) -> None:
    # Stored 40 wide x 20 tall, red block in the stored top-left corner.
    # Orientation 6 = "rotate 90 degrees clockwise to display": the result is
    # 20 wide x 40 tall and the red block appears in the top-right corner.
    stored = np.full((20, 40, 3), 255, np.uint8)
    stored[:8, :8] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    loaded = load_image(path)
    assert loaded.shape == (40, 20, 3)
    assert tuple(loaded[2, 17].tolist()) == pytest.approx((255, 0, 0), abs=30)
    assert tuple(loaded[2, 2].tolist()) == pytest.approx((255, 255, 255), abs=30)
    assert tuple(loaded[37, 2].tolist()) == pytest.approx((255, 255, 255), abs=30)


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    gray = np.arange(30 * 40, dtype=np.uint32).reshape(30, 40).astype(np.uint8)
    path = tmp_path / "gray.png"
    Image.fromarray(gray, "L").save(path)
    loaded = load_image(path)
    assert loaded.shape == (30, 40, 3)
    for channel in range(3):
        np.testing.assert_array_equal(loaded[:, :, channel], gray)


def test_bilevel_and_palette_images(tmp_path: Path) -> None:
    bits = Image.new("1", (8, 4), 0)
    bits.putpixel((3, 1), 1)
    bits.save(tmp_path / "bits.png")
    loaded = load_image(tmp_path / "bits.png")
    assert tuple(loaded[1, 3]) == (255, 255, 255) and tuple(loaded[0, 0]) == (0, 0, 0)

    palette = Image.fromarray(_pattern()).quantize(16)
    palette.save(tmp_path / "palette.png")
    loaded = load_image(tmp_path / "palette.png")
    np.testing.assert_array_equal(loaded, np.asarray(palette.convert("RGB")))


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[0, 0] = (0, 0, 0, 0)          # fully transparent black -> white
    rgba[0, 1] = (255, 0, 0, 255)      # opaque red stays red
    rgba[0, 2] = (0, 0, 0, 128)        # half-transparent black -> mid grey
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = load_image(path)
    assert tuple(loaded[0, 0]) == (255, 255, 255)
    assert tuple(loaded[0, 1]) == (255, 0, 0)
    assert tuple(loaded[0, 2]) == (127, 127, 127)


def test_palette_transparency_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (4, 2), 0)
    image.putpalette([0, 0, 0, 200, 10, 10] + [0] * (254 * 3))
    image.putpixel((1, 0), 1)
    path = tmp_path / "transparent.png"
    image.save(path, transparency=0)
    loaded = load_image(path)
    assert tuple(loaded[0, 0]) == (255, 255, 255)
    assert tuple(loaded[0, 1]) == (200, 10, 10)


def _expected_8bit(values: np.ndarray) -> np.ndarray:
    return np.rint(values.astype(np.float64) * 255.0 / 65535.0).astype(np.uint8)


def test_16bit_grayscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 1000, 32768, 40000, 65535, 300]], np.uint16)
    path = tmp_path / "gray16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")  # really a 16-bit file
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded[:, :, 0], _expected_8bit(values))
    assert loaded[0, 4, 0] == 255 and loaded[0, 2, 0] == 128  # clipping would give 255 for all but 0


def test_16bit_colour_png_and_tiff_are_scaled_exactly(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    rgb = np.array([[[0, 1000, 65535], [32768, 40000, 300], [65535, 65535, 0]]], np.uint16)
    for name in ("rgb16.png", "rgb16.tif"):
        path = tmp_path / name
        assert cv2.imwrite(str(path), rgb[:, :, ::-1])  # OpenCV writes BGR
        loaded = load_image(path)
        # Exact round(x * 255 / 65535): Pillow alone would give x >> 8 (1000 -> 3, not 4).
        np.testing.assert_array_equal(loaded, _expected_8bit(rgb))


def test_16bit_colour_png_honours_exif_orientation(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    rgb = np.zeros((20, 40, 3), np.uint16)
    rgb[:8, :8] = (65535, 0, 0)  # red block in the stored top-left corner
    plain = tmp_path / "plain16.png"
    assert cv2.imwrite(str(plain), rgb[:, :, ::-1])
    data = plain.read_bytes()
    exif = Image.Exif()
    exif[0x0112] = 6
    payload = exif.tobytes()
    payload = payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
    ihdr_end = 8 + 4 + 4 + 13 + 4  # signature, then the IHDR chunk (length, type, 13 bytes, CRC)
    rotated = tmp_path / "rotated16.png"
    rotated.write_bytes(data[:ihdr_end] + _png_chunk(b"eXIf", payload) + data[ihdr_end:])
    loaded = load_image(rotated)
    assert loaded.shape == (40, 20, 3)  # orientation 6: 90 degrees clockwise
    assert tuple(loaded[2, 17].tolist()) == (255, 0, 0) and tuple(loaded[2, 2].tolist()) == (0, 0, 0)


def test_16bit_rgba_png_is_composited(tmp_path: Path) -> None:
    cv2 = pytest.importorskip("cv2")
    bgra = np.array([[[0, 0, 65535, 65535], [0, 0, 0, 0]]], np.uint16)  # opaque red, transparent black
    path = tmp_path / "rgba16.png"
    assert cv2.imwrite(str(path), bgra)
    loaded = load_image(path)
    assert tuple(loaded[0, 0]) == (255, 0, 0)
    assert tuple(loaded[0, 1]) == (255, 255, 255)


def test_loaded_array_is_owned_and_writeable(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.fromarray(_pattern()).save(path)
    loaded = load_image(path)
    loaded[0, 0] = 0  # the caller may modify it; nothing shared with a cache
    assert loaded.flags.c_contiguous


# --- refusal of bad input -------------------------------------------------------------------


def _assert_input_error(path: Path, match: str, **kwargs) -> InputError:
    with pytest.raises(InputError, match=match) as info:
        load_image(path, **kwargs)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    _assert_input_error(tmp_path / "nope.png", "no such file")


def test_directory(tmp_path: Path) -> None:
    _assert_input_error(tmp_path, "directory")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    _assert_input_error(path, "empty")


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are not the pixels you are looking for\n")
    _assert_input_error(path, "not a supported image")


def test_unsupported_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "icon.ico"
    Image.fromarray(_pattern(16, 16)).save(path, "ICO")
    _assert_input_error(path, "not a supported image")


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("JPEG", ".jpg")])
def test_truncated_file(tmp_path: Path, fmt: str, suffix: str) -> None:
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # incompressible, so the cut hits pixel data
    whole = tmp_path / f"whole{suffix}"
    Image.fromarray(noise).save(whole, fmt)
    data = whole.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    _assert_input_error(cut, "cannot decode|truncated|cannot read")


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self, *args, **kwargs):
        raise AssertionError("pixels were decoded although the header size was over the limit")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_enormous_header_is_refused_without_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A 100 000 x 100 000 RGB PNG header (30 GB of pixels) in a few dozen bytes.
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + _png_chunk(b"IEND", b""))
    path = tmp_path / "huge.png"
    path.write_bytes(data)
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLargeError) as info:
        load_image(path)
    assert str(path) in str(info.value) and "too large" in str(info.value)
    # ... and also when the caller's limit is above Pillow's own bomb limit.
    with pytest.raises(ImageTooLargeError):
        load_image(path, max_pixels=10**12)


def test_decompression_bomb_over_max_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.png"
    Image.new("L", (2000, 2000), 0).save(path, optimize=True)  # 4 Mpixel in a few kB
    assert path.stat().st_size < 20_000
    _forbid_decoding(monkeypatch)
    with pytest.raises(ImageTooLargeError, match=r"2000x2000 = 4,000,000 pixels, more than the limit of 1,000,000") as info:
        load_image(path, max_pixels=1_000_000)
    assert str(path) in str(info.value)


def test_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.fromarray(_pattern()).save(path)
    assert load_image(path, max_pixels=40 * 30).shape == (30, 40, 3)
    with pytest.raises(ImageTooLargeError):
        load_image(path, max_pixels=40 * 30 - 1)


def test_max_pixels_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.png"
    Image.fromarray(_pattern()).save(path)
    monkeypatch.delenv("AIKON_MAX_PIXELS", raising=False)
    assert default_max_pixels() == DEFAULT_MAX_PIXELS
    monkeypatch.setenv("AIKON_MAX_PIXELS", "1000")
    assert default_max_pixels() == 1000
    with pytest.raises(ImageTooLargeError, match="AIKON_MAX_PIXELS"):
        load_image(path)
    assert load_image(path, max_pixels=5000).shape == (30, 40, 3)  # an explicit limit wins
    monkeypatch.setenv("AIKON_MAX_PIXELS", "lots")
    with pytest.raises(AikonError, match="AIKON_MAX_PIXELS"):
        load_image(path)


def test_sample_photo(sample_photo: Path) -> None:
    image = load_image(sample_photo)
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8


# --- check_image ----------------------------------------------------------------------------


def test_check_image_passes_rgb_through_untouched() -> None:
    rgb = _pattern()
    before = rgb.copy()
    assert check_image(rgb) is rgb
    np.testing.assert_array_equal(rgb, before)


def test_check_image_converts_gray_rgba_and_16bit() -> None:
    gray = np.full((3, 4), 9, np.uint8)
    assert check_image(gray).shape == (3, 4, 3)
    rgba = np.zeros((1, 1, 4), np.uint8)
    assert tuple(check_image(rgba)[0, 0]) == (255, 255, 255)
    wide = np.full((1, 1, 3), 65535, np.uint16)
    assert tuple(check_image(wide)[0, 0]) == (255, 255, 255)
    unit = np.full((1, 1, 3), 0.5)
    assert tuple(check_image(unit)[0, 0]) == (128, 128, 128)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((0, 5, 3), np.uint8), "empty"),
    (np.zeros((4, 5, 2), np.uint8), "shape"),
    (np.zeros((4,), np.uint8), "shape"),
    (np.zeros((4, 5, 3), np.int64), "pixel type"),
    (np.full((4, 5, 3), 2.0), r"\[0, 1\]"),
])
def test_check_image_rejects(bad: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        check_image(bad)
