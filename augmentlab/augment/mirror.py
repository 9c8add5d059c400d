"""Mirror-paired classes: which labels a reflection swaps, and the swap itself.

A mirror image of a car shows its front left door where the front right door was, so a
reflection must relabel ``front_left_door`` as ``front_right_door`` and back (mmcv's
``RandomFlip(swap_seg_labels=...)``). :func:`mirror_pairs` finds the pairs from the class names,
or reads them from a spec; :func:`label_swap_table` turns them into the lookup table that
:meth:`AugmentationPipeline.set_label_swap <augmentlab.augment.pipeline.AugmentationPipeline.set_label_swap>`
hands to every transform; :func:`swap_labels` applies it to the samples a transform mirrors.
Which samples those are is each transform's :meth:`~augmentlab.augment.base.BatchAugmentation.reflects`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import torch

from augmentlab.errors import FieldError

SIDES = {"left": "right", "right": "left"}
MIN_TABLE_SIZE = 256
"""Tables cover every label of uint8 mask files, so a default ``ignore_index`` of 255 maps to itself."""

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^A-Za-z\d_\-\s]+")
"""Words of a class name: runs split at ``_``, ``-``, spaces and CamelCase boundaries (``LeftArm``, ``HTTPServer``)."""

_SPEC_HINT = "auto, none, or pairs like 'left_arm:right_arm,4:13' (class names or indices; #4 is always index 4)"


def mirror_pairs(class_names: Sequence[str], spec: str = "auto") -> list[tuple[int, int]]:
    """The pairs of class indices that a reflection swaps.

    Args:
        class_names: the dataset's classes, index 0 first.
        spec: ``auto`` pairs the names that differ only by the words left and right (any case,
            words split at ``_``, ``-``, spaces and CamelCase: ``front_left_door`` and
            ``front_right_door``, ``LeftArm`` and ``RightArm``, ``Left Shoe`` and ``Right Shoe``);
            ``none`` pairs nothing; ``A:B,C:D`` gives the pairs, each class by name or by index.

    Returns:
        (lower index, higher index) for each pair, sorted.

    Raises:
        FieldError: for ``mirror_pairs``: a malformed spec, an unknown class, a class paired
            twice or with itself, or names that ``auto`` cannot pair unambiguously.
    """
    text = spec.strip()
    if text.lower() == "none":
        return []
    if text.lower() == "auto":
        return _auto_pairs(class_names)
    if not text:
        raise FieldError("mirror_pairs", f"must be {_SPEC_HINT}, got ''")
    partner_in: dict[int, str] = {}
    pairs = []
    for term in (part.strip() for part in text.split(",")):
        sides = [side.strip() for side in term.split(":")]
        if len(sides) != 2 or not all(sides):
            raise FieldError("mirror_pairs", f"must be {_SPEC_HINT}; '{term}' is not a pair A:B")
        first, second = (_class_index(class_names, side, term) for side in sides)
        if first == second:
            raise FieldError("mirror_pairs", f"pairs '{class_names[first]}' with itself in '{term}'")
        for index in (first, second):
            if index in partner_in:
                raise FieldError(
                    "mirror_pairs",
                    f"pairs '{class_names[index]}' twice ('{partner_in[index]}' and '{term}'); a class has one mirror partner",
                )
            partner_in[index] = term
        pairs.append((min(first, second), max(first, second)))
    return sorted(pairs)


def _class_index(class_names: Sequence[str], text: str, term: str) -> int:
    """The index of the class written ``text`` in the pair ``term``: ``#N`` is always index N; otherwise its name, else its index."""
    explicit = text.startswith("#") and text[1:].isdecimal()
    if text in class_names and not explicit:
        return list(class_names).index(text)
    if explicit or text.isdecimal():
        index = int(text.removeprefix("#"))
        if index < len(class_names):
            return index
        raise FieldError("mirror_pairs", f"names class index {index} in '{term}', but the classes are 0..{len(class_names) - 1}")
    close = difflib.get_close_matches(text, list(class_names), n=1)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    raise FieldError("mirror_pairs", f"names unknown class '{text}' in '{term}'{hint}")


def class_name_words(name: str) -> tuple[str, ...]:
    """The words of a class name, lower-cased: ``FrontLeft-door`` -> ('front', 'left', 'door')."""
    return tuple(word.lower() for word in _WORDS.findall(name))


def _auto_pairs(class_names: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of classes whose names' words are the same once every left and right is exchanged."""
    words = [class_name_words(name) for name in class_names]
    by_words: dict[tuple[str, ...], list[int]] = {}
    for index, name_words in enumerate(words):
        by_words.setdefault(name_words, []).append(index)
    pairs = set()
    for index, name_words in enumerate(words):
        if not any(word in SIDES for word in name_words):
            continue
        partners = by_words.get(tuple(SIDES.get(word, word) for word in name_words), [])
        if len(partners) > 1:
            names = " and ".join(f"'{class_names[partner]}'" for partner in partners)
            raise FieldError(
                "mirror_pairs",
                f"auto finds {len(partners)} mirror partners for '{class_names[index]}': {names}; give the pairs as A:B,C:D",
            )
        if partners:
            pairs.add((min(index, partners[0]), max(index, partners[0])))
    return sorted(pairs)


_LETTER_SIDES = {"l": "r", "r": "l"}


def letter_side_pairs(class_names: Sequence[str]) -> list[tuple[int, int]]:
    """Pairs of classes whose names differ only by a one-letter word l and r (``l_eye``, ``r_eye``: CelebAMask-HQ).

    ``auto`` does not pair them, since the letters may mean something else (``l_lip`` is the lower
    lip there); the plan names them so that a user who means left and right can say so.
    """
    words = [class_name_words(name) for name in class_names]
    by_words = {name_words: index for index, name_words in enumerate(words)}
    pairs = set()
    for index, name_words in enumerate(words):
        if any(word in _LETTER_SIDES for word in name_words) and not any(word in SIDES for word in name_words):
            partner = by_words.get(tuple(_LETTER_SIDES.get(word, word) for word in name_words))
            if partner is not None and partner != index:
                pairs.add((min(index, partner), max(index, partner)))
    return sorted(pairs)


def label_swap_table(pairs: Sequence[tuple[int, int]], ignore_index: int = 255, device: str | torch.device = "cpu") -> torch.Tensor | None:
    """The lookup table that swaps each pair's labels: ``table[a] = b``, ``table[b] = a``, every other label itself.

    Args:
        pairs: class index pairs, as :func:`mirror_pairs` gives them.
        ignore_index: the ignore label; it maps to itself.
        device: where to build the table; :meth:`AugmentationPipeline.to` moves it with the pipeline.

    Returns:
        int64 [L], L = max(256, ignore_index + 1, largest paired index + 1); or None when there
        are no pairs, which leaves a pipeline as fast as without a table.

    Raises:
        ValueError: a pair holds ``ignore_index`` or a negative index, or a class is in two pairs.
    """
    if not pairs:
        return None
    labels = [label for pair in pairs for label in pair]
    if ignore_index in labels or min(labels) < 0 or len(set(labels)) != len(labels):
        raise ValueError(f"mirror pairs must be distinct class indices ≥ 0 other than ignore_index {ignore_index}, got {list(pairs)}")
    table = torch.arange(max(MIN_TABLE_SIZE, ignore_index + 1, max(labels) + 1), device=device)
    first = torch.tensor([a for a, _ in pairs], device=device)
    second = torch.tensor([b for _, b in pairs], device=device)
    table[first], table[second] = second, first
    return table


def check_label_swap(table: torch.Tensor | None) -> torch.Tensor | None:
    """``table`` if it is None or an int64 [L] tensor (see :func:`label_swap_table`); else ValueError."""
    if table is not None and (not isinstance(table, torch.Tensor) or table.dtype != torch.int64 or table.ndim != 1 or table.numel() == 0):
        got = f"{tuple(table.shape)} {table.dtype}" if isinstance(table, torch.Tensor) else type(table).__name__
        raise ValueError(f"a label swap table must be an int64 tensor [L] (label_swap_table builds one) or None, got {got}")
    return table


def swap_labels(masks: torch.Tensor, table: torch.Tensor, mirrored: torch.Tensor) -> torch.Tensor:
    """``table[masks[i]]`` for the samples with ``mirrored[i]``, the others as they are; on the device, with no host read.

    Labels outside the table (only a broken transform makes them) stay as they are: the gather
    reads a clamped label, since an out-of-range index on a GPU aborts the process, and the
    label itself is kept so that the runner's check still sees it.

    Args:
        masks: int64 [B,H,W].
        table: int64 [L], from :func:`label_swap_table`, on the masks' device.
        mirrored: bool [B].

    Returns:
        int64 [B,H,W], a new tensor.
    """
    clamped = masks.clamp(0, table.shape[0] - 1)
    return torch.where(mirrored[:, None, None] & (clamped == masks), table[clamped], masks)
