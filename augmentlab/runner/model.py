"""The fixed baseline: a segmentation_models_pytorch model (DeepLabV3+ by default), checked before anything trains.

Every arm of an ablation trains this one model; only the plugin set differs. The architecture
(``arch``) is a recipe field, so changing it makes a different ablation.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from augmentlab.errors import AugmentlabError, FieldError, Param, first_line
from augmentlab.results.records import ARCH_NAMES
from augmentlab.tensors import constant

DILATION_ENCODERS = ("resnet18", "resnet50", "resnet101", "efficientnet-b4", "mobilenet_v2", "tu-convnext_tiny")
"""Encoders known to accept the dilation DeepLabV3+ needs, named when one does not."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)




def _smp_model(arch: str, encoder: str, num_classes: int, encoder_weights: str | None) -> nn.Module:
    import segmentation_models_pytorch as smp

    return smp.create_model(arch, encoder_name=encoder, encoder_weights=encoder_weights, classes=num_classes)


def check_arch_with_encoder(arch: str, encoder: str) -> None:
    """Raise FieldError when ``arch`` cannot be built with ``encoder`` (DeepLabV3+ needs a dilated last stage, for one).

    The model is built on the meta device, so the check allocates nothing and takes milliseconds,
    and it asks smp itself rather than a list that would go stale.
    """
    try:
        try:
            with torch.device("meta"):
                _smp_model(arch, encoder, 2, None)
        except (ValueError, KeyError, AttributeError):
            raise
        except Exception:  # some encoders (mit_b*) call Tensor.item() while building: build those for real
            _smp_model(arch, encoder, 2, None)
    except (ValueError, KeyError, AttributeError) as error:
        works = f"encoders that work: {', '.join(DILATION_ENCODERS)}" if arch.startswith("deeplab") else "resnet18, resnet50 and efficientnet-b0 work with every architecture"
        raise FieldError(
            "encoder", f"{encoder!r} cannot be used by {ARCH_NAMES.get(arch, arch)}: {first_line(error).rstrip('.')}; {works}"
        ) from None


def build_model(encoder: str, encoder_weights: str, num_classes: int, arch: str = "deeplabv3plus") -> nn.Module:
    """The ``arch`` model with ``encoder`` initialised from ``imagenet`` (smp's download), ``none`` or a local file.

    A local file is read with ``torch.load(weights_only=True)``. It may hold the encoder's own
    state dict (a torchvision classification checkpoint works: smp drops the classifier), a
    checkpoint of a whole smp model (its ``encoder.*`` entries are used), or either under a
    ``state_dict`` or ``model`` key.

    Raises:
        AugmentlabError: the download fails (offline) or the file does not fit the encoder.
    """
    if encoder_weights == "imagenet":
        try:
            return _smp_model(arch, encoder, num_classes, "imagenet")
        except (OSError, RuntimeError, ValueError) as error:
            raise AugmentlabError(
                f"could not get the imagenet weights of encoder {encoder!r} ({first_line(error)}); without network access set ",
                Param("encoder_weights"), " to none, or to the path of a local weights file",
            ) from None
    model = _smp_model(arch, encoder, num_classes, None)
    if encoder_weights != "none":
        load_encoder_weights(model, Path(encoder_weights))
    return model


def imagenet_weights_cached(encoder: str) -> bool | None:
    """Whether the Hugging Face cache holds ``encoder``'s imagenet weights (None: this encoder's weights are not found that way).

    Reads the local cache only, never the network: a run without them downloads them first.
    """
    try:
        from huggingface_hub import try_to_load_from_cache
        from segmentation_models_pytorch.encoders import encoders

        settings = encoders[encoder]["pretrained_settings"]["imagenet"]
        found = try_to_load_from_cache(settings["repo_id"], "model.safetensors", revision=settings.get("revision"))
    except Exception:  # noqa: BLE001 - timm's encoders, another smp layout: nothing can be said
        return None
    return isinstance(found, str)


def load_encoder_weights(model: nn.Module, path: Path) -> None:
    """Load ``path`` into ``model.encoder``; see :func:`build_model` for the accepted layouts."""
    try:
        with warnings.catch_warnings():  # torch warns in two lines before raising for a raw pickle; our one line says it all
            warnings.simplefilter("ignore")
            checkpoint: Any = torch.load(path, map_location="cpu", weights_only=True)
    except EOFError:  # an empty or cut-off file: torch says only "EOFError"
        size = path.stat().st_size if path.is_file() else 0
        raise AugmentlabError(
            f"encoder weights {path}: the file ends before its tensors do ({size} bytes; a download or copy cut short?); "
            "copy or save it again, e.g. with torch.save(model.state_dict(), path)"
        ) from None
    except pickle.UnpicklingError:
        raise AugmentlabError(
            f"encoder weights {path}: not a file of tensors that torch.load(weights_only=True) can read safely (not a "
            "checkpoint, or a pickle of other objects or of an unsupported protocol); save the weights with torch.save(model.state_dict(), path)"
        ) from None
    except Exception as error:  # torch raises zip and runtime errors for a bad file
        detail = " ".join(f"{type(error).__name__}: {error}".split())
        raise AugmentlabError(f"encoder weights {path}: cannot read them with torch.load(weights_only=True): {detail[:300]}") from None
    for key in ("state_dict", "model"):
        if isinstance(checkpoint, dict) and isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
    if not isinstance(checkpoint, dict) or not all(isinstance(value, torch.Tensor) for value in checkpoint.values()):
        raise AugmentlabError(f"encoder weights {path}: expected a state dict of tensors, got {type(checkpoint).__name__}")
    if any(key.startswith("encoder.") for key in checkpoint):
        checkpoint = {key.removeprefix("encoder."): value for key, value in checkpoint.items() if key.startswith("encoder.")}
    try:
        model.encoder.load_state_dict(checkpoint)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise AugmentlabError(f"encoder weights {path} do not fit this encoder: {detail[:300]}; give weights saved from the same encoder") from None


def model_layout(device: torch.device) -> torch.memory_format:
    """The memory format the model runs in on ``device``: channels_last on CUDA (cuDNN's fast
    path, with the normalised batch written in it), the default elsewhere."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def normalize_images(images: torch.Tensor, memory_format: torch.memory_format = torch.contiguous_format) -> torch.Tensor:
    """ImageNet normalisation, applied after augmentation, ``(x - mean) / std`` as torchvision computes it.

    Own code rather than torchvision's ``normalize``, which turns the mean and std lists into
    device tensors on every call: a host-to-device copy that waits for the device, once per
    training step. The result is written in ``memory_format``: the CUDA model takes
    channels_last, and writing the normalised batch in that layout saves a copy of its own.

    Args:
        images: float [B,3,H,W] in [0,1].
        memory_format: layout of the result.
    """
    device = images.device
    mean = constant(list(IMAGENET_MEAN), device).to(images.dtype).view(1, 3, 1, 1)
    std = constant(list(IMAGENET_STD), device).to(images.dtype).view(1, 3, 1, 1)
    return torch.sub(images, mean, out=torch.empty_like(images, memory_format=memory_format)).div_(std)
