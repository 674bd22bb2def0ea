"""Reading and checking images: the only module that opens image files.

:func:`load_image` turns a JPEG, PNG, WebP, TIFF, BMP (also GIF, PNM) file
into an ``(H, W, 3)`` ``uint8`` RGB array, upright (EXIF orientation applied),
with transparency composited on white and 16-bit samples scaled (not clipped)
to 8 bits. The pixel count is checked from the file header *before* the
pixels are decoded, so a hostile or enormous file is refused without
allocating it. Every problem with the file becomes an
:class:`aikon.errors.InputError` (or :class:`aikon.errors.ImageTooLargeError`)
whose one-line message names the file.

:func:`check_image` validates an array that did not come from a file (a
camera frame, a library caller) and brings it to the same form.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from aikon.errors import AikonError, ImageTooLargeError, InputError

DEFAULT_MAX_PIXELS = 50_000_000
"""Pixel limit (width x height) used when neither the caller nor ``AIKON_MAX_PIXELS`` sets one."""

MAX_PIXELS_ENV = "AIKON_MAX_PIXELS"

# Pillow plugins we let open a file. Restricting the set keeps exotic decoders
# (EPS runs Ghostscript, for instance) away from untrusted input.
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "PPM")

# EXIF orientation tag value -> the Pillow transpose that makes the image
# upright; the same table ImageOps.exif_transpose uses. Needed for the OpenCV
# (16-bit colour) path, where there is no Pillow image to transpose.
_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION = 0x0112


def default_max_pixels() -> int:
    """The pixel limit from ``$AIKON_MAX_PIXELS``, else :data:`DEFAULT_MAX_PIXELS`.

    Raises
    ------
    AikonError
        If the variable is set but is not a positive integer.
    """
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise AikonError(f"{MAX_PIXELS_ENV}={raw!r} is not a positive whole number of pixels")
    return value


def load_image(path: str | os.PathLike, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as upright 8-bit RGB.

    Parameters
    ----------
    path
        The image file (JPEG, PNG, WebP, TIFF, BMP; GIF and PNM also work;
        the first frame of a multi-frame file is used).
    max_pixels
        Refuse images with more than this many pixels (width x height),
        checked from the header before decoding. ``None`` means
        :func:`default_max_pixels` (``$AIKON_MAX_PIXELS`` or 50 million).

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` ``uint8`` array, RGB, rows top to bottom, after the EXIF
        orientation is applied (so ``H, W`` may be the header's swapped).
        Grayscale is replicated to three channels; alpha is composited on
        white; 16-bit samples are scaled by 255/65535 and rounded.

    Raises
    ------
    InputError
        The file is missing, a directory, unreadable, empty, not a supported
        image, truncated or corrupt.
    ImageTooLargeError
        The header declares more than ``max_pixels`` pixels (or more than
        Pillow's own decompression-bomb limit).
    """
    file = Path(path)
    limit = default_max_pixels() if max_pixels is None else int(max_pixels)
    if limit <= 0:
        raise AikonError(f"max_pixels must be positive, got {max_pixels}")
    _check_file(file)
    # Register exactly the decoders we accept: Pillow would otherwise import
    # all of its ~40 plugins on the first WebP or TIFF lookup.
    from PIL import BmpImagePlugin, GifImagePlugin, JpegImagePlugin, PngImagePlugin, PpmImagePlugin  # noqa: F401
    from PIL import TiffImagePlugin, WebPImagePlugin  # noqa: F401

    with warnings.catch_warnings():
        # We enforce our own limit from the header below; Pillow's warning for
        # images between its limit and twice it would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(file, formats=SUPPORTED_FORMATS)
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"{file}: image is too large to decode safely ({exc})") from None
        except UnidentifiedImageError:
            raise InputError(f"{file}: not a supported image file "
                             f"(expected JPEG, PNG, WebP, TIFF or BMP)") from None
        except OSError as exc:
            raise InputError(f"{file}: cannot read image header: {_reason(exc)}") from None
        with image:
            width, height = image.size
            if width <= 0 or height <= 0:
                raise InputError(f"{file}: image header declares an empty size {width}x{height}")
            if width * height > limit:
                raise ImageTooLargeError(
                    f"{file}: image is {width}x{height} = {width * height:,} pixels, more than the limit of "
                    f"{limit:,} (raise it with --max-pixels or {MAX_PIXELS_ENV})")
            try:
                if _is_16bit_colour(image):
                    rgb = _decode_16bit_colour(file, image)
                else:
                    rgb = _decode_pillow(image)
            except MemoryError:
                raise
            except Exception as exc:  # any decoder failure is a property of the file, not a bug here
                raise InputError(f"{file}: cannot decode image: {_reason(exc)}") from None
    return rgb


def check_image(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Validate an in-memory image and bring it to ``(H, W, 3)`` ``uint8`` RGB.

    Parameters
    ----------
    image
        ``(H, W)`` grayscale, ``(H, W, 1)``, ``(H, W, 3)`` RGB or ``(H, W, 4)``
        RGBA array of ``uint8`` (any ``uint16`` input is scaled by 255/65535;
        float input must lie in [0, 1]).
    name
        How to refer to the image in error messages.

    Returns
    -------
    numpy.ndarray
        ``(H, W, 3)`` ``uint8`` RGB; the input itself when it already is that
        (it is never modified), otherwise a new array.

    Raises
    ------
    InputError
        Wrong shape, dtype, an empty image, or float values outside [0, 1].
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InputError(f"{name}: expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {np.shape(image)}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InputError(f"{name}: image is empty (shape {array.shape})")
    if array.dtype == np.uint8:
        pass
    elif array.dtype == np.uint16:
        array = _scale_16_to_8(array)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or array.min() < 0.0 or array.max() > 1.0:
            raise InputError(f"{name}: float images must have values in [0, 1]")
        array = np.rint(array * 255.0).astype(np.uint8)
    else:
        raise InputError(f"{name}: unsupported pixel type {array.dtype} (expected uint8)")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        array = _composite_on_white(array)
    return array


def _check_file(file: Path) -> None:
    if not file.exists():
        raise InputError(f"{file}: no such file")
    if file.is_dir():
        raise InputError(f"{file}: is a directory, not an image file")
    if not os.access(file, os.R_OK):
        raise InputError(f"{file}: permission denied")
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise InputError(f"{file}: cannot read: {_reason(exc)}") from None
    if size == 0 and file.is_file():
        raise InputError(f"{file}: file is empty")


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _decode_pillow(image: Image.Image) -> np.ndarray:
    image.load()  # full decode here, so truncation and corruption surface in one place
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # 16-bit grayscale (PNG and TIFF open as I;16 or I): scale, don't clip.
        gray = np.asarray(image)
        if gray.dtype != np.uint16:
            if gray.min() < 0 or gray.max() > 65535:
                raise ValueError("32-bit integer samples are not supported")
            gray = gray.astype(np.uint16)
        return check_image(gray)
    if mode == "F":
        gray = np.nan_to_num(np.asarray(image, dtype=np.float64))
        high = float(gray.max())
        # Float TIFFs come as [0, 1] or [0, 255]; anything else is normalised to its maximum.
        scale = 1.0 if high <= 1.0 else (255.0 if high <= 255.0 else high)
        return check_image(np.clip(gray / scale, 0.0, 1.0))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info) or \
            (mode in ("L", "RGB") and "transparency" in image.info):
        return _composite_on_white(np.asarray(image.convert("RGBA")))
    if mode == "RGB":
        return np.array(image)
    return np.array(image.convert("RGB"))


def _is_16bit_colour(image: Image.Image) -> bool:
    """Pillow keeps only the high byte of 16-bit RGB(A); OpenCV reads those exactly."""
    if image.mode not in ("RGB", "RGBA") or not image.tile:
        return False
    args = image.tile[0].args
    rawmode = args if isinstance(args, str) else (args[0] if args and isinstance(args[0], str) else "")
    return ";16" in rawmode


def _decode_16bit_colour(file: Path, image: Image.Image) -> np.ndarray:
    import cv2

    data = np.fromfile(file, dtype=np.uint8)
    array = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if array is None or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError("OpenCV could not decode the 16-bit colour data")
    order = [2, 1, 0, 3][: array.shape[2]]  # OpenCV gives BGR(A)
    rgb = check_image(np.ascontiguousarray(array[:, :, order]))
    orientation = image.getexif().get(_EXIF_ORIENTATION)
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is not None:
        rgb = np.array(Image.fromarray(rgb).transpose(method))
    return rgb


def _scale_16_to_8(array: np.ndarray) -> np.ndarray:
    # Round(x * 255 / 65535) in integer arithmetic: 0 -> 0, 65535 -> 255, no clipping.
    return ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 RGBA -> ``(H, W, 3)`` uint8 RGB over a white background."""
    colour = rgba[:, :, :3].astype(np.uint32)
    alpha = rgba[:, :, 3:4].astype(np.uint32)
    blended = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)
