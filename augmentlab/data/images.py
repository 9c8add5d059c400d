"""Image and index-mask files to tensors, EXIF orientation, and resizing to a training size.

Images become uint8 ``[3, H, W]`` RGB with their EXIF orientation applied: grayscale, palette,
CMYK and RGBA images are converted to RGB (alpha is dropped, each pixel keeps its colour), and
16-bit grayscale is scaled to 8 bits. Masks are index PNGs: one class index per pixel, in mode
``L``, ``P`` (read as palette indices, not colours), ``I``, ``I;16`` or ``1``; colour-coded masks
are read as RGB here and mapped to indices by :mod:`augmentlab.data.colours`.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from augmentlab.data.wording import plural, verb
from augmentlab.errors import AugmentlabError, Param

EXIF_ORIENTATION_TAG = 0x0112
AXES_SWAPPING_ORIENTATIONS = frozenset({5, 6, 7, 8})
"""EXIF orientations that turn a stored W×H image into an H×W one."""

# Formats Pillow registers for opening that are no photos a segmentation dataset holds: vector
# graphics that need Ghostscript, video, scientific arrays and metadata. A sidecar file of one of
# them beside the images would otherwise be taken for an image (and clash with its stem).
_NOT_PHOTO_FORMATS = frozenset({"EPS", "MPEG", "FITS", "IPTC"})


@functools.lru_cache(maxsize=1)
def image_suffixes() -> frozenset[str]:
    """The lower-case file suffixes (``.jpg``, ``.webp``, ``.tif``, …) of the raster formats Pillow reads here.

    :func:`read_image` opens any file Pillow recognises, which is what a COCO json's images may
    be; a folder dataset takes the files with these suffixes as its images, so both accept the
    same formats. Stub formats (which need a handler Pillow does not ship) are left out.
    """
    Image.init()  # registers every plugin, not only the few Pillow imports up front
    suffixes = set()
    for suffix, format_name in Image.registered_extensions().items():
        if format_name not in Image.OPEN or format_name in _NOT_PHOTO_FORMATS:
            continue
        factory = Image.OPEN[format_name][0]
        if isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile):
            continue
        suffixes.add(suffix.lower())
    return frozenset(suffixes)


def file_fingerprint(path: Path) -> bytes:
    """A file's name, size and modification time, for a dataset's cache key: a changed file changes it.

    The name goes in as its bytes (``os.fsencode``), so one that is not valid UTF-8 (a Latin-1
    zip's café.jpg) is kept as it is.
    """
    stat = path.stat()
    return os.fsencode(path.name) + f"\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode()


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
            article = "an" if mask.mode[:1] in "AEFHILMNORSX" else "a"  # as the letter is spoken: an RGB, a CMYK
            export = "export masks as index PNGs (mode L or P, one class index per pixel)"
            fix = (
                ("for colour-coded masks give their colour table (a CSV name,r,g,b such as CamVid's class_dict.csv) with ",
                 Param("mask_colours"), f", or {export}")
                if mask.mode in ("RGB", "RGBA") else (export,)
            )
            raise AugmentlabError(f"mask {path} is {article} {mask.mode} image, not an index mask; ", *fix)
        try:
            values = np.asarray(mask, dtype=np.int64)
        except (OSError, ValueError, SyntaxError) as error:
            raise _unreadable(path, "mask", error) from None
    return torch.from_numpy(np.ascontiguousarray(values))


def read_mask_colours_array(path: str | Path) -> np.ndarray:
    """The colour-coded mask at ``path`` as int32 ``[H, W, 3]`` RGB values (alpha dropped, a palette PNG by its colours).

    Raises:
        AugmentlabError: the file is missing or corrupt.
    """
    path = Path(path)
    with _open(path, "mask") as mask:
        try:
            if mask.mode in _SIXTEEN_BIT_MODES:
                # Pillow's RGB conversion clips 16-bit values at 255: read them, and take them as grey only where they fit.
                values = np.asarray(mask, dtype=np.int64)
                if values.size and (values.max() > 255 or values.min() < 0):
                    raise AugmentlabError(
                        f"mask {path} is a 16-bit image with values up to {int(values.max())}, and a colour table maps 8-bit colours; "
                        "save the masks as 8-bit RGB PNGs, or as index PNGs without the colour table"
                    )
                return np.repeat(values.astype(np.int32)[:, :, None], 3, axis=2)
            return np.asarray(mask.convert("RGB"), dtype=np.int32)
        except (OSError, ValueError, SyntaxError) as error:
            raise _unreadable(path, "mask", error) from None


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

    Rule for one image on its own: a mask the size of the displayed image (EXIF applied) is used
    as it is (1). A mask the size of the stored pixels of an image whose EXIF orientation turns
    it by 90° was drawn on the stored pixels, so it gets the image's own orientation and both
    turn together. Any other size is an error naming the image, both sizes as width×height, and
    ``fix``. :func:`mask_orientations` decides a whole dataset at once.
    """
    stored, orientation = stored_size_and_orientation(image_path)
    return _orientation_by_size(_Annotated(image_path, stored, orientation, tuple(mask_size)), mask_source, fix)


@dataclass(frozen=True)
class _Annotated:
    path: Path
    stored: tuple[int, int]
    orientation: int
    annotated: tuple[int, int]
    """The size the annotation was drawn at: the json's height and width, or the mask's shape."""

    @property
    def shown(self) -> tuple[int, int]:
        return displayed_size(self.stored, self.orientation)

    @property
    def tells(self) -> bool:
        """Its sizes show which pixels it was annotated on: turned by 90° and not square."""
        return self.orientation in AXES_SWAPPING_ORIENTATIONS and self.stored[0] != self.stored[1]


def _orientation_by_size(item: _Annotated, mask_source: str, fix: str) -> int:
    if item.annotated == item.shown:
        return 1
    if item.annotated == item.stored and item.orientation in AXES_SWAPPING_ORIENTATIONS:
        return item.orientation
    shown = item.shown
    raise AugmentlabError(
        f"image {item.path} is {shown[1]}x{shown[0]} (width x height, after EXIF orientation) "
        f"but {mask_source} is {item.annotated[1]}x{item.annotated[0]}; {fix}"
    )


def mask_orientations(
    image_paths: Sequence[Path],
    mask_sizes: Sequence[tuple[int, int]],
    mask_sources: Sequence[str],
    fix: str,
    *,
    source: str,
    size_name: str,
) -> tuple[list[int], str | None]:
    """Per image, the EXIF orientation its mask turns by (1: none), decided once for the whole
    dataset; and a warning for the caller to log, or None.

    Only an image turned by 90° that is not square shows, by its annotated size, whether it was
    annotated on its stored pixels (size of the stored pixels) or on the displayed image (size
    after EXIF). For a flip, a half turn or a square image both sizes are equal, so the rule is
    taken from the others: when every image that shows it was annotated on its stored pixels
    (an annotation tool that ignored EXIF), every image of the dataset is, and each mask turns
    with its image. When the images that show it disagree, each of them follows its own size,
    the others are read as displayed, and the warning says so. When none shows it, images with
    an EXIF orientation are read as displayed and the warning counts them.

    Args:
        mask_sizes: ``(H, W)`` each annotation was drawn at (the json's size, the mask's shape).
        mask_sources: per image, what had that size, for the error (``its size in train.json``).
        fix: the end of the error about a size that is neither the stored nor the displayed one.
        source: the json or mask folder, named in the warning.
        size_name: ``json size`` or ``mask size``, as the warning calls ``mask_sizes``.

    Raises:
        AugmentlabError: an annotated size that is neither the image's stored nor its displayed size.
    """
    items = []
    for path, size in zip(image_paths, mask_sizes):
        stored, orientation = stored_size_and_orientation(path)
        items.append(_Annotated(Path(path), stored, orientation, tuple(size)))
    by_size = [_orientation_by_size(item, where, fix) for item, where in zip(items, mask_sources)]
    telling = [item for item in items if item.tells]
    on_stored = sum(item.annotated == item.stored for item in telling)
    on_shown = len(telling) - on_stored
    untold = sum(item.orientation != 1 and not item.tells for item in items)
    if on_stored and not on_shown:
        # An annotation tool that ignored EXIF ignored it for every image it was given.
        return [item.orientation for item in items], None
    if on_stored and on_shown:
        rest = f", and the {plural(untold, 'image')} whose sizes cannot tell (flipped, turned 180° or square) as displayed" if untold else ""
        return by_size, (
            f"{source}: the images turned by 90° by EXIF disagree: {on_stored} {verb(on_stored, 'has', 'have')} the {size_name} of "
            f"the stored pixels (annotated without EXIF), {on_shown} that of the displayed image; each of those is read as its "
            f"size says{rest}; check them with augmentlab preview"
        )
    if untold and not telling:
        return by_size, (
            f"{source}: {plural(untold, 'image')} {verb(untold, 'has', 'have')} an EXIF orientation that the {size_name} cannot "
            "confirm (flipped, turned 180° or square: the stored and displayed sizes are equal), so "
            f"{verb(untold, 'it is', 'they are')} read as annotated on the displayed image, EXIF applied; "
            f"if the annotation tool ignored EXIF, remove {verb(untold, 'its', 'their')} orientation tag"
        )
    return by_size, None


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
    if isinstance(error, PermissionError):  # the file may be fine: it is the access that is missing
        return AugmentlabError(f"cannot read {kind} {path}: permission denied; give the user that runs augmentlab read access (chmod a+r)")
    reason = " ".join(str(error).split()) or type(error).__name__
    return AugmentlabError(f"cannot read {kind} {path}: {reason}; the file is corrupt, replace or remove it")
