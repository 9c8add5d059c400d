"""The spec language: augmentation sets and weighted loss sums, parsed into typed objects.

Grammar (whitespace is allowed between tokens)::

    augmentation_set := "none" | aug_term ("," aug_term)*
    aug_term         := NAME [ "(" params ")" ]
    loss_spec        := loss_term ("+" loss_term)*
    loss_term        := [ NUMBER "*" ] LOSS_NAME [ "(" params ")" ] [ NUMBER ]
    params           := [ NAME "=" value ("," NAME "=" value)* ]
    value            := NUMBER | true | false | none | NAME | "'" text "'" | "[" [NUMBER ("," NUMBER)*] "]"

A loss name never ends in a digit, so ``ce0.8`` is ``ce`` with weight 0.8. Parsing checks syntax
only; :func:`check_augmentation_set` and :func:`check_loss_spec` check names and parameters
against what the plugins provide.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Union

from augmentlab.errors import Param, SpecError

Value = Union[int, float, bool, str, None, tuple]
Params = tuple[tuple[str, Value], ...]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOSS_NAME = re.compile(r"[A-Za-z_](?:[A-Za-z0-9_]*[A-Za-z_])?")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NUMBER_LIKE = re.compile(r"[+-]?[0-9.][0-9A-Za-z_.+-]*")
_OPEN = {"(": ")", "[": "]"}
_CLOSE = {")": "(", "]": "["}
PLUGINS_HINT = "`augmentlab plugins` lists all"


@dataclass(frozen=True)
class AugmentationTerm:
    """One augmentation with the parameters the spec sets (the others keep their defaults)."""

    name: str
    params: Params = ()
    position: int = field(default=0, compare=False, repr=False)

    @property
    def kwargs(self) -> dict[str, Value]:
        return dict(self.params)

    def __str__(self) -> str:
        return self.name + _format_params(self.params)


@dataclass(frozen=True)
class AugmentationSet:
    """Augmentations applied one after another, in order; no terms means ``none``."""

    terms: tuple[AugmentationTerm, ...] = ()
    text: str = field(default="none", compare=False, repr=False)

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms) or "none"

    def __iter__(self) -> Iterator[AugmentationTerm]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)


@dataclass(frozen=True)
class LossTerm:
    """One loss of a weighted sum."""

    name: str
    weight: float = 1.0
    params: Params = ()
    position: int = field(default=0, compare=False, repr=False)

    @property
    def kwargs(self) -> dict[str, Value]:
        return dict(self.params)

    @property
    def label(self) -> str:
        """The term without its weight, e.g. ``focal(gamma=3)``."""
        return self.name + _format_params(self.params)

    def __str__(self) -> str:
        return self.label if self.weight == 1 else f"{self.label}{self.weight:g}"


@dataclass(frozen=True)
class LossSpec:
    """A weighted sum of losses."""

    terms: tuple[LossTerm, ...]
    text: str = field(default="", compare=False, repr=False)

    def __str__(self) -> str:
        return "+".join(str(term) for term in self.terms)

    def __iter__(self) -> Iterator[LossTerm]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)


def format_value(value: Value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, str) and not _NAME.fullmatch(value):
        return repr(value)
    return str(value)


def _format_params(params: Params) -> str:
    if not params:
        return ""
    return "(" + ", ".join(f"{key}={format_value(value)}" for key, value in params) + ")"


def _bracket_depths(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, str, int]]:
    """``(index, char, depth)`` for each character of ``text[start:end]`` outside quoted text.

    ``depth`` counts the brackets open around the character: an opening bracket is reported at
    the depth outside it, a closing one at the depth after it, so both ends of a pair read alike.
    The one scanner behind bracket checks, top-level splits and matching parentheses.
    """
    depth, quote = 0, None
    for index in range(start, len(text) if end is None else end):
        char = text[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _OPEN:
            yield index, char, depth
            depth += 1
        elif char in _CLOSE:
            depth -= 1
            yield index, char, depth
        else:
            yield index, char, depth


def _check_brackets(text: str) -> None:
    stack: list[tuple[str, int]] = []
    for index, char, _ in _bracket_depths(text):
        if char in _OPEN:
            stack.append((char, index))
        elif char in _CLOSE:
            if not stack:
                raise SpecError(f"unbalanced parentheses: '{char}' closes nothing", text, index)
            opened, at = stack.pop()
            if opened != _CLOSE[char]:
                raise SpecError(f"unbalanced parentheses: '{opened}' at column {at + 1} is closed by '{char}'", text, index)
    if stack:
        opened, at = stack[-1]
        raise SpecError(f"unbalanced parentheses: '{opened}' is never closed", text, at)


def _split_top_level(text: str, separators: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans of ``text[start:end]`` between separators that sit outside brackets and quotes."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for index, char, depth in _bracket_depths(text, start, end):
        if depth == 0 and char in separators and not _is_exponent_sign(text, index):
            spans.append((begin, index))
            begin = index + 1
    spans.append((begin, end))
    return spans


def _is_exponent_sign(text: str, index: int) -> bool:
    """True for the '+' of a number like ``1e+3``, which does not separate loss terms."""
    return text[index] == "+" and index >= 2 and text[index - 1] in "eE" and text[index - 2].isdigit()


def _strip_span(text: str, begin: int, end: int) -> tuple[int, int]:
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    return begin, end


def _parse_number(token: str) -> int | float | None:
    if not _NUMBER.fullmatch(token):
        return None
    return float(token) if any(c in token for c in ".eE") else int(token)


def _parse_value(text: str, begin: int, end: int, key: str) -> Value:
    begin, end = _strip_span(text, begin, end)
    token = text[begin:end]
    if not token:
        raise SpecError(f"parameter '{key}' has no value after '='", text, begin)
    if token[0] == "[":
        inner = [_strip_span(text, b, e) for b, e in _split_top_level(text, ",", begin + 1, end - 1)]
        if len(inner) == 1 and inner[0][0] == inner[0][1]:
            return ()
        items = []
        for b, e in inner:
            number = _parse_number(text[b:e])
            if number is None:
                what = "an empty item" if b == e else f"'{text[b:e]}'"
                raise SpecError(f"bad number in the list of parameter '{key}': {what}", text, b)
            items.append(number)
        return tuple(items)
    if token[0] in "'\"":
        if len(token) < 2 or token[-1] != token[0]:
            raise SpecError(f"unterminated quoted value for parameter '{key}'", text, begin)
        return token[1:-1]
    if token[0] in "+-." or token[0].isdigit():
        number = _parse_number(token)
        if number is None:
            raise SpecError(f"bad number '{token}' for parameter '{key}'", text, begin)
        return number
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    if _NAME.fullmatch(token):
        return token
    raise SpecError(f"bad value '{token}' for parameter '{key}'; quote text values", text, begin)


def _parse_params(text: str, begin: int, end: int, owner: str) -> Params:
    """Parse ``key=value, ...`` in ``text[begin:end]`` (the inside of the parentheses)."""
    spans = _split_top_level(text, ",", begin, end)
    if len(spans) == 1 and not text[begin:end].strip():
        return ()
    params: dict[str, Value] = {}
    for span_begin, span_end in spans:
        b, e = _strip_span(text, span_begin, span_end)
        if b == e:
            raise SpecError(f"empty parameter in the parameters of '{owner}'", text, b)
        key_match = _NAME.match(text, b, e)
        rest = text[key_match.end():e].lstrip() if key_match else ""
        if key_match is None or not rest.startswith("="):
            piece = text[b:e]
            if key_match and key_match.end() == e:
                raise SpecError(f"parameter '{piece}' of '{owner}' needs a value: write {piece}=VALUE", text, b)
            raise SpecError(f"expected NAME=VALUE in the parameters of '{owner}', found '{piece}'", text, b)
        key = key_match.group()
        if key in params:
            raise SpecError(f"parameter '{key}' of '{owner}' is given twice", text, b)
        equals = text.index("=", key_match.end())
        params[key] = _parse_value(text, equals + 1, e, key)
    return tuple(params.items())


def _parse_call(text: str, begin: int, end: int, name_pattern: re.Pattern[str], what: str) -> tuple[str, Params, int]:
    """Parse ``NAME[(params)]`` at ``begin``; return the name, params and where parsing stopped."""
    match = name_pattern.match(text, begin, end)
    if match is None:
        raise SpecError(f"expected {what} name, found '{text[begin:end]}'", text, begin)
    name, position = match.group(), match.end()
    while position < end and text[position].isspace():
        position += 1
    params: Params = ()
    if position < end and text[position] == "(":
        close = _matching_paren(text, position)
        params = _parse_params(text, position + 1, close, name)
        position = close + 1
    return name, params, position


def _matching_paren(text: str, open_index: int) -> int:
    for index, char, depth in _bracket_depths(text, open_index):
        if char in _CLOSE and depth == 0:
            return index
    raise SpecError("unbalanced parentheses: '(' is never closed", text, open_index)


def parse_augmentation_set(text: str) -> AugmentationSet:
    """Parse an augmentation set such as ``elastic(alpha=2, sigma=40, p=0.5),hflip`` or ``none``.

    Raises:
        SpecError: the text is not a valid augmentation set; the message points at the offending part.
    """
    if not text.strip():
        raise SpecError("the augmentation set is empty; write `none` for no augmentation", text)
    _check_brackets(text)
    terms: list[AugmentationTerm] = []
    spans = [_strip_span(text, b, e) for b, e in _split_top_level(text, ",")]
    for begin, end in spans:
        if begin == end:
            raise SpecError("empty term: remove the extra ','", text, begin)
        name, params, stop = _parse_call(text, begin, end, _NAME, "an augmentation")
        if stop != end:
            raise SpecError(f"unexpected '{text[stop:end]}' after '{text[begin:stop].strip()}'; separate augmentations with ','", text, stop)
        if name.lower() == "none":
            if len(spans) > 1 or params:
                raise SpecError("'none' means no augmentation and stands alone", text, begin)
            return AugmentationSet((), text)
        if any(term.name == name for term in terms):
            raise SpecError(f"augmentation '{name}' is listed twice", text, begin)
        terms.append(AugmentationTerm(name, params, begin))
    return AugmentationSet(tuple(terms), text)


def _parse_weight(text: str, begin: int, end: int, name: str) -> float:
    token = text[begin:end].strip()
    number = _parse_number(token)
    if number is None:
        if "-" in token.lstrip("+-"):
            raise SpecError(f"unexpected '{token}' after '{name}'; join loss terms with '+'", text, begin)
        raise SpecError(f"bad weight '{token}' for loss '{name}'", text, begin)
    if number <= 0:
        raise SpecError(f"weight of loss '{name}' must be positive, got {token}", text, begin)
    return float(number)


def parse_loss_spec(text: str) -> LossSpec:
    """Parse a weighted loss sum such as ``ce0.8+focal0.2`` or ``0.8*ce+0.2*focal(gamma=3)``.

    A term without a weight has weight 1.

    Raises:
        SpecError: the text is not a valid loss spec; the message points at the offending part.
    """
    if not text.strip():
        raise SpecError("the loss spec is empty; write for example `ce`", text)
    _check_brackets(text)
    terms: list[LossTerm] = []
    for span_begin, span_end in _split_top_level(text, "+"):
        begin, end = _strip_span(text, span_begin, span_end)
        if begin == end:
            raise SpecError("empty term: remove the extra '+'", text, begin)
        prefix_weight = None
        star = _split_top_level(text, "*", begin, end)
        if len(star) > 2:
            raise SpecError("a loss term takes one weight, written WEIGHT*NAME or NAMEWEIGHT", text, star[2][0] - 1)
        if len(star) == 2:
            weight_begin, weight_end = _strip_span(text, *star[0])
            after_begin, after_end = _strip_span(text, *star[1])
            if _NAME.fullmatch(text[weight_begin:weight_end]) and _parse_number(text[after_begin:after_end]) is not None:
                raise SpecError(f"write the weight first: {text[after_begin:after_end]}*{text[weight_begin:weight_end]}", text, weight_begin)
            if weight_begin == weight_end:
                raise SpecError("missing weight before '*'", text, star[0][1])
            name_begin = _strip_span(text, *star[1])[0]
            if name_begin == end:
                raise SpecError("missing loss name after '*'", text, star[0][1])
            prefix_weight = _parse_weight(text, weight_begin, weight_end, text[name_begin:end])
            begin = name_begin
        if text[begin].isdigit() or text[begin] in "+-.":
            number = _NUMBER.match(text, begin, end)
            stop = number.end() if number else begin + 1
            raise SpecError(f"expected a loss name, found '{text[begin:end]}'; write WEIGHT*NAME, e.g. 0.8*ce", text, begin if number is None else stop)
        name, params, stop = _parse_call(text, begin, end, _LOSS_NAME, "a loss")
        if not params and stop < end:
            # `ce1e-3`: the name pattern took `ce1e`; give the digits back when they make a weight.
            digit = next((i for i in range(begin, begin + len(name)) if text[i].isdigit()), None)
            if digit is not None and _parse_number(text[digit:end].strip()) is not None:
                name, stop = text[begin:digit], digit
        weight = prefix_weight if prefix_weight is not None else 1.0
        if stop < end:
            if prefix_weight is not None:
                raise SpecError(f"loss '{name}' has two weights; give one", text, stop)
            if not _NUMBER_LIKE.match(text, stop, end):
                raise SpecError(f"unexpected '{text[stop:end]}' after loss '{name}'", text, stop)
            weight = _parse_weight(text, stop, end, name)
        if any(term.name == name for term in terms):
            raise SpecError(f"loss '{name}' appears twice; give each loss once", text, begin)
        terms.append(LossTerm(name, weight, params, begin))
    return LossSpec(tuple(terms), text)


def suggest(name: str, known: Iterator[str] | list[str], cutoff: float = 0.6) -> str:
    """`` — did you mean 'a' or 'b'?`` for close matches of ``name`` (difflib's ratio ≥ ``cutoff``), or an empty string."""
    matches = difflib.get_close_matches(name, list(known), n=3, cutoff=cutoff)
    if not matches:
        return ""
    return " — did you mean " + " or ".join(f"'{match}'" for match in matches) + "?"


def _check_params(text: str, position: int, what: str, name: str, params: Params, defaults: Mapping[str, Any]) -> None:
    for key, _ in params:
        if key not in defaults:
            valid = ", ".join(defaults) if defaults else "none"
            raise SpecError(f"{what} '{name}' has no parameter '{key}'{suggest(key, list(defaults)) or ';'} valid parameters: {valid}", text, position)


def _check_terms(spec: AugmentationSet | LossSpec, what: str, available: Mapping[str, Any], other: str, other_names: Mapping[str, Any], option: Param) -> None:
    for term in spec:
        info = available.get(term.name)
        if info is None:
            if term.name in other_names:
                article = "an" if what[0] in "aeiou" else "a"
                raise SpecError((f"'{term.name}' is {other}, not {article} {what}; pass it with ", option), spec.text, term.position)
            raise SpecError(f"unknown {what} '{term.name}'{suggest(term.name, list(available)) or ';'} {PLUGINS_HINT}", spec.text, term.position)
        _check_params(spec.text, term.position, what, term.name, term.params, info.defaults)


def check_augmentation_set(spec: AugmentationSet, available: Mapping[str, Any], losses: Mapping[str, Any] = {}) -> None:
    """Check every term against the available augmentations (an ``AugmentationInfo`` mapping).

    Raises:
        SpecError: an unknown name (with close matches) or an unknown parameter (with the valid ones).
    """
    _check_terms(spec, "augmentation", available, "a loss", losses, Param("loss", keyword=True))


def check_loss_spec(spec: LossSpec, available: Mapping[str, Any], augmentations: Mapping[str, Any] = {}) -> None:
    """Check every term against the available losses (a ``LossInfo`` mapping).

    Raises:
        SpecError: an unknown name (with close matches) or an unknown parameter (with the valid ones).
    """
    _check_terms(spec, "loss", available, "an augmentation", augmentations, Param("aug", keyword=True))
