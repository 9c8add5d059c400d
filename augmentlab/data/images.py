"""Image and index-mask files to tensors, EXIF orientation, and resizing to a training size.

Images become uint8 ``[3, H, W]`` RGB with their EXIF orientation applied: grayscale, palette,
CMYK and RGBA images are converted to RGB (alpha is dropped, each pixel keeps its colour), and
16-bit grayscale is scaled to 8 bits. Masks are index PNGs: one class index per pixel, in mode
``L``, ``P`` (read as palette indices, not colours), ``I``, ``I;16`` or ``1``.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from augmentlab.errors import AugmentlabError

EXIF_ORIENTATION_TAG = 0x0112
AXES_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
"""EXIF orientations that turn a stored W×H image into an H×W one."""

INDEX_MASK_MODES = frozenset({"1", "L", "P", "I", "I;16", "I;16L", "I;16B"})
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B"})


def read_image(path: str | Path) -> torch.Tensor:
    """The image at ``path`` as uint8 ``[3, H, W]`` RGB, H and W after EXIF orientation.

    Raises:
        AugmentlabError: the file is missing, not an image, or corrupt (names the file).
    """
    path = Path(path)
    with _open(path, "image") as image:
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in _SIXTEEN_BIT_MODES:
                values = np.asarray(image, dtype=np.int64)
                gray = ((np.clip(values, 0, 65535) + 128) // 257).astype(np.uint8)
                rgb = np.repeat(gray[:, :, None], 3, axis=2)
            else:
                rgb = np.array(image.convert("RGB"))
        except (OSError, ValueError, SyntaxError) as error:
            raise _unreadable(path, "image", error) from None
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).contiguous()


def read_index_mask(path: str | Path) -> torch.Tensor:
    """The index mask PNG at ``path`` as int64 ``[H, W]``; palette PNGs give their indices.

    Raises:
        AugmentlabError: the file is missing, corrupt, or holds colours rather than indices.
    """
    path = Path(path)
    with _open(path, "mask") as mask:
        if mask.mode not in INDEX_MASK_MODES:
            raise AugmentlabError(
                f"mask {path} is a {mask.mode} image, not an index mask; export masks as index PNGs "
                "(mode L or P, one class index per pixel)"
            )
        try:
            values = np.asarray(mask, dtype=np.int64)
        except (OSError, ValueError, SyntaxError) as error:
            raise _unreadable(path, "mask", error) from None
    return torch.from_numpy(np.ascontiguousarray(values))


def stored_size_and_orientation(path: str | Path) -> tuple[tuple[int, int], int]:
    """``((height, width), orientation)`` of the stored pixels, from the header only.

    ``orientation`` is the EXIF orientation (1..8; 1 when absent or invalid).

    Raises:
        AugmentlabError: the file is missing or not an image.
    """
    path = Path(path)
    with _open(path, "image") as image:
        orientation = image.getexif().get(EXIF_ORIENTATION_TAG, 1)
        size = (image.height, image.width)
    return size, orientation if orientation in range(1, 9) else 1


def displayed_size(stored_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """``(height, width)`` after EXIF ``orientation`` is applied to a ``stored_size`` image."""
    height, width = stored_size
    return (width, height) if orientation in AXES_SWAPPING_ORIENTATIONS else (height, width)


def apply_orientation(mask: torch.Tensor, orientation: int) -> torch.Tensor:
    """``mask`` ``[H, W]`` moved as ``PIL.ImageOps.exif_transpose`` moves an image with that EXIF orientation."""
    if orientation == 2:
        return mask.flip(1)
    if orientation == 3:
        return mask.flip(0, 1)
    if orientation == 4:
        return mask.flip(0)
    if orientation == 5:
        return mask.t()
    if orientation == 6:
        return torch.rot90(mask, -1)
    if orientation == 7:
        return mask.flip(0, 1).t()
    if orientation == 8:
        return torch.rot90(mask, 1)
    return mask


def mask_orientation(image_path: Path, mask_size: tuple[int, int], mask_source: str, fix: str) -> int:
    """The EXIF orientation to apply to a mask of ``mask_size`` ``(H, W)`` so it lines up with its image.

    Rule: a mask the size of the displayed image (EXIF applied) is used as it is (1). A mask the
    size of the stored pixels of an image whose EXIF orientation turns it by 90° was drawn on
    the stored pixels, so it gets the image's own orientation and both turn together. Any
    other size is an error naming the image, both sizes as width×height, and ``fix``.
    """
    stored, orientation = stored_size_and_orientation(image_path)
    shown = displayed_size(stored, orientation)
    if tuple(mask_size) == shown:
        return 1
    if tuple(mask_size) == stored and orientation in AXES_SWAPPING_ORIENTATIONS:
        return orientation
    raise AugmentlabError(
        f"image {image_path} is {shown[1]}x{shown[0]} (width x height, after EXIF orientation) "
        f"but {mask_source} is {mask_size[1]}x{mask_size[0]}; {fix}"
    )


def resize_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 ``[3, H, W]`` -> uint8 ``[3, *size]``, bilinear with antialiasing."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    resized = torch.nn.functional.interpolate(
        image[None].float(), size=size, mode="bilinear", antialias=True, align_corners=False
    )[0]
    return resized.round_().clamp_(0, 255).to(torch.uint8)


def resize_mask(mask: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """int64 ``[H, W]`` -> int64 ``size``, nearest neighbour by pixel centres (labels never mix)."""
    height, width = mask.shape
    if (height, width) == tuple(size):
        return mask
    rows = _nearest_sources(height, size[0])
    columns = _nearest_sources(width, size[1])
    return mask[rows][:, columns]


def fitted_size(height: int, width: int, size: tuple[int, int]) -> tuple[int, int]:
    """The largest (h, w) with the image's aspect ratio inside ``size``: the scale is min(H/h, W/w), each side rounded."""
    scale = min(size[0] / height, size[1] / width)
    return max(1, min(size[0], round(height * scale))), max(1, min(size[1], round(width * scale)))


def fit_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 ``[3, h, w]`` → uint8 ``[3, *size]``: scaled to fit keeping its aspect ratio (bilinear, antialiased),
    at the top left, the rest 0 (MMSegmentation's Pad puts the padding bottom and right too)."""
    fitted = resize_image(image, fitted_size(*image.shape[-2:], size))
    padded = torch.zeros((image.shape[0], *size), dtype=image.dtype)
    padded[:, : fitted.shape[1], : fitted.shape[2]] = fitted
    return padded


def fit_mask(mask: torch.Tensor, size: tuple[int, int], ignore_index: int) -> torch.Tensor:
    """int64 ``[h, w]`` → int64 ``size``, placed as :func:`fit_image` places its image; the padding is
    ``ignore_index``, so it is never learned or scored."""
    fitted = resize_mask(mask, fitted_size(*mask.shape, size))
    padded = torch.full(size, ignore_index, dtype=mask.dtype)
    padded[: fitted.shape[0], : fitted.shape[1]] = fitted
    return padded


def _nearest_sources(length: int, new_length: int) -> torch.Tensor:
    centres = (torch.arange(new_length, dtype=torch.float64) + 0.5) * (length / new_length)
    return centres.floor().long().clamp_(0, length - 1)


BYTES_PER_DECODED_PIXEL = 12
"""What decoding one pixel may take at once: RGB uint8, plus the copies of conversion, numpy and torch."""

MEMORY_SHARE_PER_IMAGE = 0.25
"""The share of this machine's memory one image may take while it is decoded."""


@functools.lru_cache(maxsize=1)
def decodable_pixels() -> int:
    """The most pixels one image may have here: a quarter of the machine's memory at 12 bytes a pixel.

    Pillow refuses images above 179 Mpx by default (twice its ``MAX_IMAGE_PIXELS``, a guard
    against decompression bombs). A real export can hold larger photos, and a machine with the
    memory decodes them; what it cannot hold is refused with one line naming the image.
    """
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that reports it: Pillow's own limit
        return 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)
    return int(memory * MEMORY_SHARE_PER_IMAGE / BYTES_PER_DECODED_PIXEL)


def _open(path: Path, kind: str) -> Image.Image:
    if not path.is_file():
        raise AugmentlabError(f"{kind} {path} does not exist; check the path")
    limit = decodable_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, limit // 2  # Pillow refuses above twice it
            try:
                return Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except Image.DecompressionBombError:
        raise _too_large(path, kind, limit) from None
    except UnidentifiedImageError:
        raise AugmentlabError(
            f"cannot read {kind} {path}: not an image format Pillow recognises; replace or remove the file"
        ) from None
    except OSError as error:
        raise _unreadable(path, kind, error) from None


def _too_large(path: Path, kind: str, limit: int) -> AugmentlabError:
    previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(path) as header:  # reads the header only
            width, height = header.size
    finally:
        Image.MAX_IMAGE_PIXELS = previous
    return AugmentlabError(
        f"{kind} {path} is {width}×{height}, {width * height:,} pixels, more than the {limit:,} one image may have here "
        f"({MEMORY_SHARE_PER_IMAGE:.0%} of this machine's memory at {BYTES_PER_DECODED_PIXEL} bytes a pixel); downscale it, or remove it from the dataset"
    )


def _unreadable(path: Path, kind: str, error: Exception) -> AugmentlabError:
    reason = " ".join(str(error).split()) or type(error).__name__
    return AugmentlabError(f"cannot read {kind} {path}: {reason}; the file is corrupt, replace or remove it")
