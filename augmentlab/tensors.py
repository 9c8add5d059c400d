"""Small tensors made on the device without waiting for it, and built once per device."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence, TypeVar, Union

import torch

Values = Union[float, Sequence["Values"]]
Builder = TypeVar("Builder", bound=Callable[..., Any])


def built_once(build: Builder) -> Builder:
    """Memoise ``build``, a function of plain hashable arguments (sizes, a device) that returns a tensor or a tuple of them.

    For the tensors a transform needs at every step but that depend only on the image size and
    the device (interpolation weights, identity grids): building them costs several kernels per
    step on a GPU, where the step loop is bound by how fast it launches them. The tensors are
    shared by every caller: read them, never change them in place. They are built as normal
    tensors even inside ``torch.inference_mode``, so they serve training steps too. Each function
    keeps its 64 most recently used tensors (a training process uses one image size).
    """
    cached = functools.lru_cache(maxsize=64)(build)

    @functools.wraps(build)
    def shared(*args):  # type: ignore[no-untyped-def]
        with torch.inference_mode(False):
            return cached(*args)

    shared.cache_clear, shared.cache_info = cached.cache_clear, cached.cache_info  # type: ignore[attr-defined]
    return shared  # type: ignore[return-value]


NO_META_KERNEL = ("no fake impl or Meta kernel registered", "from the 'Meta' backend")
"""How PyTorch says that an operator has no implementation on the ``meta`` device: nothing can be concluded then."""


def raised_on_meta(call: Callable[[], object]) -> Exception | None:
    """What ``call`` (which works on ``meta`` tensors, shapes without values) raised, or None.

    On meta everything that reads a value back to the host raises (``.item()``, an ``if`` on a
    tensor, ``x[mask]``), and so does every check of shapes and parameters, at no cost in time
    or memory. An operator that PyTorch cannot run on meta at all leaves the question open: None.
    """
    try:
        call()
    except Exception as error:  # noqa: BLE001 - whatever a plugin raises is the answer
        return None if any(marker in str(error) for marker in NO_META_KERNEL) else error
    return None


def constant(values: Values, device: torch.device) -> torch.Tensor:
    """float32 tensor of Python numbers (nested lists for more dimensions), made on ``device``.

    On CUDA it is built from fills: ``torch.tensor(values, device="cuda")`` copies from pageable
    host memory, and that copy waits for the device, which would stall the step loop. Fills cost
    a kernel per number, so each distinct tensor is built once per device (:func:`built_once`);
    every caller gets its own copy (one device-to-device copy), free to change.
    """
    if device.type == "cpu":
        return torch.tensor(values, dtype=torch.float32)
    return _filled(_frozen(values), device).clone()


def _frozen(values: Values) -> float | tuple:
    """``values`` as nested tuples of floats, hashable for the cache."""
    if isinstance(values, (int, float)):
        return float(values)
    return tuple(_frozen(value) for value in values)


@built_once
def _filled(values: float | tuple, device: torch.device) -> torch.Tensor:
    return _fill(values, device)


def _fill(values: float | tuple, device: torch.device) -> torch.Tensor:
    if isinstance(values, float):
        return torch.full((), values, device=device)
    return torch.stack([_fill(value, device) for value in values])
