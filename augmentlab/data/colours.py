"""Colour-coded masks: a table of class colours (CamVid's ``class_dict.csv``) and a reader that maps them to indices.

Many datasets ship their masks as RGB pictures, one colour per class, with a table beside them:
CamVid (the 32-class Kaggle release), DeepGlobe land cover, the Massachusetts roads and buildings
sets. The table is a CSV with a header naming the columns ``name``, ``r``, ``g`` and ``b`` (in
any order and letter case; other columns are passed over); its rows, in order, are the classes
0, 1, …, so the first row is the background. Every pixel of a mask must have one of its colours
exactly: a colour the table lacks (a JPEG-saved mask, one resized with smoothing) is an error
that names it, rather than a guess of the nearest class. :func:`select_classes` keeps some of
the rows as the classes, in the order given, and makes the others void (CamVid's ``Void``).
"""

from __future__ import annotations

import csv
import difflib
import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from augmentlab.data.images import read_mask_colours_array
from augmentlab.data.wording import plural
from augmentlab.errors import AugmentlabError, FieldError, Param

_COLUMNS = ("name", "r", "g", "b")
_SHOWN_COLOURS = 3  # unknown colours named in a message before "…"


@dataclass(frozen=True)
class MaskColours:
    """The classes of a colour table: ``names[i]`` is drawn as ``colours[i]`` ``(r, g, b)``."""

    names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]
    source: str
    """The table's file, for messages."""

    @property
    def key(self) -> str:
        """sha256 hex over the names and colours: the same table under another file name gives the same key."""
        return hashlib.sha256(repr((self.names, self.colours)).encode()).hexdigest()


def read_mask_colours(path: str | Path) -> MaskColours:
    """The colour table at ``path``: a CSV with the columns ``name,r,g,b``, one row per class, in index order.

    Raises:
        FieldError (``mask_colours``): the file is missing or unreadable, lacks a column, has a
            value outside 0..255, an empty or repeated name, a repeated colour, or fewer than 2 rows.
    """
    path = Path(path)

    def bad(problem: str) -> FieldError:
        return FieldError("mask_colours", f"{path}: {problem}")

    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Excel's byte-order mark is not part of the first column's name
    except IsADirectoryError:
        raise bad("is a folder; give the colour table's CSV file (name,r,g,b)") from None
    except FileNotFoundError:
        raise bad("does not exist; give the colour table's CSV file (name,r,g,b), such as CamVid's class_dict.csv") from None
    except (OSError, UnicodeDecodeError) as error:
        raise bad(f"cannot be read ({error}); give a UTF-8 CSV file with the columns name,r,g,b") from None
    lines = text.splitlines()
    if lines and lines[0].strip().lower().startswith("sep="):  # Excel's separator hint line
        lines = lines[1:]
    first = next((line for line in lines if line.strip()), "")
    # Excel writes ';' where the decimal comma is the custom, and some tools tabs: the header tells.
    delimiter = next((mark for mark in (",", ";", "\t") if mark in first), ",")
    rows = [row for row in csv.reader(lines, delimiter=delimiter) if any(cell.strip() for cell in row)]
    if not rows:
        raise bad("is empty; write a header name,r,g,b and one row per class, the background first")
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [column for column in _COLUMNS if column not in header]
    if missing:
        raise bad(f"has no column {', '.join(missing)} in its header {','.join(rows[0])!r}; the header must name name,r,g,b")
    where = {column: header.index(column) for column in _COLUMNS}
    names: list[str] = []
    colours: list[tuple[int, int, int]] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) < len(header):
            raise bad(f"row {line} has {len(row)} values and the header {len(header)}; give each class a name, r, g and b")
        name = row[where["name"]].strip()
        if not name:
            raise bad(f"row {line} has an empty name; name every class")
        if name in names:
            raise bad(f"row {line} repeats the name {name!r} of row {names.index(name) + 2}; give each class its own name")
        try:
            colour = tuple(int(row[where[channel]].strip()) for channel in "rgb")
        except ValueError:
            raise bad(f"row {line} ({name}) has r,g,b {','.join(row[where[c]].strip() for c in 'rgb')!r}; write whole numbers 0..255") from None
        if not all(0 <= value <= 255 for value in colour):
            raise bad(f"row {line} ({name}) has r,g,b {colour} outside 0..255")
        if colour in colours:
            raise bad(f"row {line} ({name}) has the colour {colour} of {names[colours.index(colour)]!r}; each class needs its own colour")
        names.append(name)
        colours.append(colour)  # type: ignore[arg-type]  # three ints
    if len(names) < 2:
        raise bad(f"lists {plural(len(names), 'class')}; list the background (the first row) and at least one more class")
    return MaskColours(tuple(names), tuple(colours), str(path))


def select_classes(table: MaskColours, classes: Sequence[str], ignore_index: int) -> tuple[int, ...]:
    """The label of each row of ``table`` when ``classes`` (table names, the background first) are the classes:
    a row's position in ``classes``, or ``ignore_index`` for a row left out.

    Raises:
        FieldError (``classes``): a name the table lacks (with the closest one), or one given twice.
    """
    for name in classes:
        if name not in table.names:
            close = difflib.get_close_matches(name, table.names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise FieldError("classes", f"names {name!r}, which {table.source} does not list{hint}; name classes of its rows, or leave it out")
        if list(classes).count(name) > 1:
            raise FieldError("classes", f"names {name!r} twice; name each class once")
    position = {name: index for index, name in enumerate(classes)}
    return tuple(position.get(name, ignore_index) for name in table.names)


@dataclass(frozen=True)
class ColourMaskReader:
    """Reads a colour-coded mask file as int64 ``[H, W]`` labels by the colours of a :class:`MaskColours`.

    Row ``i``'s colour becomes ``labels[i]`` (default: ``i``). A plain picklable object, so that the
    processes that stream a split (DataLoader workers) read masks as the driver does. Any image
    mode is read as RGB (alpha dropped; a palette PNG by the colours of its palette).
    """

    table: MaskColours
    labels: tuple[int, ...] | None = None

    @functools.cached_property
    def _sorted_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(the table's colours as ``r << 16 | g << 8 | b``, sorted; the row of each), made once per reader, not per mask."""
        codes = np.array([(r << 16) | (g << 8) | b for r, g, b in self.table.colours], dtype=np.int32)
        order = np.argsort(codes)
        return codes[order], order

    def __call__(self, path: str | Path) -> torch.Tensor:
        path = Path(path)
        rgb = read_mask_colours_array(path)
        codes = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
        sorted_codes, order = self._sorted_codes
        position = np.minimum(np.searchsorted(sorted_codes, codes), len(sorted_codes) - 1)
        found = sorted_codes[position] == codes
        if not found.all():
            raise self._unknown(path, codes[~found])
        rows = order[position]
        labels = rows if self.labels is None else np.asarray(self.labels, dtype=np.int64)[rows]
        return torch.from_numpy(labels.astype(np.int64))

    def _unknown(self, path: Path, codes: np.ndarray) -> AugmentlabError:
        colours, counts = np.unique(codes, return_counts=True)
        by_count = np.argsort(-counts, kind="stable")
        shown = ", ".join(
            f"({code >> 16}, {(code >> 8) & 255}, {code & 255}) in {plural(int(counts[i]), 'pixel')}"
            for i in by_count[:_SHOWN_COLOURS] for code in [int(colours[i])]
        )
        more = ", …" if len(colours) > _SHOWN_COLOURS else ""
        # Many stray colours are the mark of smoothing (JPEG, a bilinear resize), not of a class the table forgot.
        grey = all(code >> 16 == (code >> 8) & 255 == code & 255 for code in colours.tolist())
        fix: tuple[str | Param, ...]
        if len(colours) > 8:
            fix = ("so many colours mark a smoothed mask (saved as JPEG, or resized bilinearly): re-export it as PNG, resized with nearest neighbour",)
        elif grey and max(code & 255 for code in colours.tolist()) < len(self.table.names) + 8:
            fix = ("its greys 0, 1, 2, … look like class indices: these are index masks, to read without a colour table (leave out ",
                   Param("mask_colours"), ")")
        else:
            fix = (f"add a row name,r,g,b to {self.table.source} for each class it lacks",)
        return AugmentlabError(f"mask {path} has {plural(len(colours), 'colour')} that {self.table.source} does not list ({shown}{more}); ", *fix)
