"""The fixed baseline model: which architectures and encoders it accepts, and encoder weights from a local file."""

from __future__ import annotations

import math
import pickle
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision

from augmentlab.errors import AugmentlabError
from augmentlab.runner import model as model_module
from augmentlab.runner.model import (
    DILATION_ENCODERS,
    build_model,
    check_arch_with_encoder,
    load_encoder_weights,
    normalize_images,
)

WORKING = "encoders that work: resnet18, resnet50, resnet101, efficientnet-b4, mobilenet_v2, tu-convnext_tiny"


@pytest.mark.parametrize(
    ("encoder", "reason"),
    [
        ("xception", "Xception encoder does not support dilated mode due to pooling operation for downsampling!"),
        ("densenet121", "DenseNet encoders do not support dilated mode due to pooling operation for downsampling!"),
        ("vgg16", "'VGG' models do not support dilated mode due to Max Pooling operations for downsampling!"),
    ],
)
def test_encoders_without_dilation_are_rejected_naming_the_reason_and_the_working_ones(encoder, reason):
    with pytest.raises(AugmentlabError) as error:
        check_arch_with_encoder("deeplabv3plus", encoder)
    assert str(error.value) == f"encoder {encoder!r} cannot be used by DeepLabV3+: {reason}; {WORKING}"


@pytest.mark.parametrize("encoder", ["resnet18", "resnet50", "mobilenet_v2"])
def test_encoders_with_dilation_are_accepted(encoder):
    check_arch_with_encoder("deeplabv3plus", encoder)


def test_the_encoders_named_as_working_do_work():
    for encoder in DILATION_ENCODERS:
        check_arch_with_encoder("deeplabv3plus", encoder)


def test_an_encoder_that_cannot_be_built_on_the_meta_device_is_not_a_crash():
    # smp.DeepLabV3Plus(encoder_name="mit_b0") builds and runs on the CPU; only the meta-device
    # shortcut fails (Tensor.item() on a meta tensor), and `augmentlab ablate --encoder mit_b0` prints a traceback.
    check_arch_with_encoder("deeplabv3plus", "mit_b0")


# Weights from a local file ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def source_model() -> torch.nn.Module:
    """A DeepLabV3+ whose weights, buffers included, differ from any freshly built one."""
    torch.manual_seed(1)
    model = model_module._smp_model("deeplabv3plus", "resnet18", 3, None)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.normal_()
            elif name.endswith("num_batches_tracked"):
                tensor.fill_(7)
    return model


@pytest.fixture
def fresh_model() -> torch.nn.Module:
    torch.manual_seed(2)
    return model_module._smp_model("deeplabv3plus", "resnet18", 3, None)


def assert_encoder_equals(model: torch.nn.Module, expected: dict[str, torch.Tensor]) -> None:
    state = model.encoder.state_dict()
    assert state.keys() == expected.keys()
    for key, tensor in state.items():
        assert torch.equal(tensor, expected[key]), key


def encoder_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: tensor.clone() for key, tensor in model.encoder.state_dict().items()}


@pytest.mark.parametrize(
    "layout",
    ["encoder state dict", "whole model with encoder. prefix", "under state_dict", "under model", "whole model under state_dict"],
)
def test_local_weights_in_every_accepted_layout_are_loaded_exactly(tmp_path, source_model, fresh_model, layout):
    encoder = encoder_state(source_model)
    whole = {key: tensor.clone() for key, tensor in source_model.state_dict().items()}
    checkpoint = {
        "encoder state dict": encoder,
        "whole model with encoder. prefix": whole,
        "under state_dict": {"state_dict": encoder, "epoch": 3},
        "under model": {"model": encoder, "optimizer": {"lr": 0.1}},
        "whole model under state_dict": {"state_dict": whole},
    }[layout]
    path = tmp_path / "weights.pt"
    torch.save(checkpoint, path)
    before_decoder = {key: tensor.clone() for key, tensor in fresh_model.decoder.state_dict().items()}
    load_encoder_weights(fresh_model, path)
    assert_encoder_equals(fresh_model, encoder)
    # the decoder of a whole-model checkpoint is not loaded: only the encoder is pretrained
    for key, tensor in fresh_model.decoder.state_dict().items():
        assert torch.equal(tensor, before_decoder[key]), key


def test_a_torchvision_classification_checkpoint_loads_without_its_classifier(tmp_path, fresh_model):
    torch.manual_seed(3)
    classifier = torchvision.models.resnet18(weights=None)
    state = classifier.state_dict()
    assert {"fc.weight", "fc.bias"} <= state.keys()
    path = tmp_path / "resnet18-torchvision.pth"
    torch.save(state, path)
    load_encoder_weights(fresh_model, path)
    assert_encoder_equals(fresh_model, {key: value for key, value in state.items() if not key.startswith("fc.")})


def test_build_model_with_a_weights_file_starts_from_that_file(tmp_path, source_model):
    path = tmp_path / "encoder.pt"
    torch.save(encoder_state(source_model), path)
    built = build_model("resnet18", str(path), 3)
    assert_encoder_equals(built, encoder_state(source_model))
    assert built.segmentation_head[0].out_channels == 3


def test_build_model_without_network_says_what_to_pass(monkeypatch):
    real = model_module._smp_model

    def offline(arch, encoder, num_classes, encoder_weights):
        if encoder_weights == "imagenet":
            raise OSError("[Errno -3] Temporary failure in name resolution\nmore detail")
        return real(arch, encoder, num_classes, encoder_weights)

    monkeypatch.setattr(model_module, "_smp_model", offline)
    with pytest.raises(AugmentlabError) as error:
        build_model("resnet18", "imagenet", 3)
    assert str(error.value) == (
        "could not get the imagenet weights of encoder 'resnet18' ([Errno -3] Temporary failure in name resolution); "
        "without network access set encoder_weights to none, or to the path of a local weights file"
    )


def test_weights_of_another_encoder_are_one_clear_line(tmp_path, fresh_model):
    path = tmp_path / "mobilenet.pth"
    torch.save(torchvision.models.mobilenet_v2(weights=None).state_dict(), path)
    with pytest.raises(AugmentlabError) as error:
        load_encoder_weights(fresh_model, path)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"encoder weights {path} do not fit this encoder: Error(s) in loading state_dict for ResNetEncoder: Missing key(s)")
    assert message.endswith("; give weights saved from the same encoder")
    assert len(message.removeprefix(f"encoder weights {path}")) < 400


def test_a_tensor_of_the_wrong_shape_is_one_clear_line(tmp_path, source_model, fresh_model):
    encoder = encoder_state(source_model)
    encoder["conv1.weight"] = torch.zeros(64, 3, 3, 3)
    path = tmp_path / "resized.pt"
    torch.save(encoder, path)
    with pytest.raises(AugmentlabError) as error:
        load_encoder_weights(fresh_model, path)
    assert "\n" not in str(error.value)
    assert "size mismatch for conv1.weight: copying a param with shape torch.Size([64, 3, 3, 3])" in str(error.value)


@pytest.mark.parametrize(
    ("content", "got"),
    [([1, 2, 3], "list"), ({"epoch": 3, "weight": torch.zeros(1)}, "dict"), (torch.zeros(3), "Tensor")],
)
def test_a_file_that_is_not_a_state_dict_of_tensors_is_rejected(tmp_path, fresh_model, content, got):
    path = tmp_path / "not-weights.pt"
    torch.save(content, path)
    with pytest.raises(AugmentlabError) as error:
        load_encoder_weights(fresh_model, path)
    assert str(error.value) == f"encoder weights {path}: expected a state dict of tensors, got {got}"


class NotATensor:
    """Pickled into a checkpoint, it is what weights_only loading refuses."""


def write_unreadable(path: Path, kind: str) -> None:
    if kind == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif kind == "broken zip":
        path.write_bytes(b"PK\x03\x04 cut short")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "object pickle":
        torch.save({"conv1.weight": NotATensor()}, path)
    else:
        path.write_bytes(pickle.dumps({"a": NotATensor()}))


UNSAFE_PICKLE = (
    "not a file of tensors that torch.load(weights_only=True) can read safely (not a checkpoint, or a pickle of other objects "
    "or of an unsupported protocol); save the weights with torch.save(model.state_dict(), path)"
)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("garbage", UNSAFE_PICKLE),
        ("broken zip", "cannot read them with torch.load(weights_only=True): "),
        ("empty", "the file ends before its tensors do (0 bytes; a download or copy cut short?); copy or save it again, e.g. with torch.save(model.state_dict(), path)"),
        ("object pickle", UNSAFE_PICKLE),
        ("plain pickle", UNSAFE_PICKLE),
    ],
)
def test_an_unreadable_file_is_an_augmentlab_error_naming_the_file(tmp_path, fresh_model, kind, reason, recwarn):
    path = tmp_path / "bad.pt"
    write_unreadable(path, kind)
    with pytest.raises(AugmentlabError) as error:
        load_encoder_weights(fresh_model, path)
    assert str(error.value).startswith(f"encoder weights {path}: {reason}")
    assert [str(warning.message) for warning in recwarn] == []  # torch's two-line warning is not shown before our line


@pytest.mark.parametrize("kind", ["garbage", "object pickle"])
def test_an_unreadable_file_is_one_line(tmp_path, fresh_model, kind):
    path = tmp_path / "bad.pt"
    write_unreadable(path, kind)
    with pytest.raises(AugmentlabError) as error:
        load_encoder_weights(fresh_model, path)
    assert "\n" not in str(error.value)


def test_normalize_images_uses_imagenet_mean_and_std(device):
    images = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    assert torch.equal(normalize_images(images), torch.zeros(2, 3, 2, 2, device=device))
    ones = normalize_images(torch.ones(1, 3, 1, 1, device=device)).flatten().tolist()
    assert ones == pytest.approx([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225])


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_normalize_images_equals_torchvision_in_the_asked_layout(memory_format, device):
    from torchvision.transforms.v2.functional import normalize

    images = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0)).to(device)
    normalised = normalize_images(images, memory_format)
    assert normalised.is_contiguous(memory_format=memory_format)
    assert torch.equal(normalised, normalize(images, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))


def test_a_training_step_does_not_wait_on_the_host(device):
    # Normalisation, forward under autocast, each built-in loss, backward and the fused Adam
    # step: none may copy from the host or read a value back, or the step loop would stall.
    if device.type != "cuda":
        pytest.skip("host synchronisation is only observable on CUDA")
    import augmentlab

    model = build_model("resnet18", "none", 4).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    images = torch.rand(2, 3, 64, 64, device=device)
    masks = torch.randint(0, 4, (2, 64, 64), device=device)
    waiting = []
    for name in sorted(augmentlab.available_losses()):
        loss_fn = augmentlab.build_loss(name, 4, 255, [1.0, 2.0, 3.0, 4.0]).to(device)
        for attempt in ("first call may initialise lazily", "measured"):
            if attempt == "measured":
                torch.cuda.set_sync_debug_mode("error")
            try:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    logits = model(normalize_images(images, torch.channels_last))
                loss_fn(logits, masks).backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            except RuntimeError:
                waiting.append(name)
            finally:
                torch.cuda.set_sync_debug_mode("default")
    assert not waiting, f"a training step with these losses waits on the host: {sorted(set(waiting))}"


def test_a_training_step_reads_no_value_back_to_the_host():
    # The step above on the meta device, whose tensors hold no values: normalisation, forward,
    # each built-in loss, backward and Adam's step run there only if nothing reads a value on the
    # host (.item(), an if on a tensor, x[mask]). Shown without a GPU; copies from the host are
    # for the CUDA test to see.
    import augmentlab

    meta = torch.device("meta")
    model = build_model("resnet18", "none", 4).to(meta, memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, foreach=True)
    images = torch.zeros(2, 3, 64, 64, device=meta)
    masks = torch.zeros(2, 64, 64, dtype=torch.int64, device=meta)
    for name in sorted(augmentlab.available_losses()):
        loss_fn = augmentlab.build_loss(name, 4, 255, [1.0, 2.0, 3.0, 4.0]).to(meta)
        logits = model(normalize_images(images, torch.channels_last))
        loss_fn(logits, masks).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        assert logits.shape == (2, 4, 64, 64)


@pytest.mark.parametrize("arch", ["unet", "unetplusplus", "fpn", "deeplabv3", "linknet"])
def test_other_architectures_build_and_give_a_logit_per_class_at_the_input_size(arch):
    model = build_model("resnet18", "none", 5, arch).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 96)).shape == (1, 5, 64, 96)


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("unet++", "arch 'unet++' is not an architecture here — did you mean 'unetplusplus'?"),
        ("deeplabv3+", "arch 'deeplabv3+' is not an architecture here — did you mean 'deeplabv3plus'"),
        ("maskrcnn", "arch 'maskrcnn' is not an architecture here; choose one of deeplabv3plus, deeplabv3, unet, unetplusplus"),
    ],
)
def test_unknown_architectures_get_close_matches(arch, message):
    from augmentlab.runner.recipe import check_arch

    with pytest.raises(AugmentlabError, match=re.escape(message)):
        check_arch(arch)


def test_a_pair_that_cannot_work_gets_smps_reason():
    with pytest.raises(AugmentlabError, match=r"^encoder 'vgg16' cannot be used by DeepLabV3: 'VGG' models do not support dilated mode"):
        check_arch_with_encoder("deeplabv3", "vgg16")
    check_arch_with_encoder("unet", "vgg16")  # U-Net needs no dilation


@pytest.mark.parametrize(
    ("schedule", "warmup", "expected"),
    [
        # 10 steps, 2 of warm-up: 0.01 → 1 linearly, then t = (step − 2) / 8.
        ("constant", 0, [1.0] * 10),
        ("constant", 2, [0.01, 0.505] + [1.0] * 8),
        ("poly", 0, [(1 - step / 10) ** 0.9 for step in range(10)]),
        ("poly", 2, [0.01, 0.505] + [(1 - (step - 2) / 8) ** 0.9 for step in range(2, 10)]),
        ("cosine", 0, [0.5 * (1 + math.cos(math.pi * step / 10)) for step in range(10)]),
    ],
)
def test_lr_factor(schedule, warmup, expected):
    from augmentlab.runner.train import lr_factor

    factor = lr_factor(schedule, 10, warmup)
    assert [factor(step) for step in range(10)] == pytest.approx(expected, rel=1e-12)
    assert factor(10) == pytest.approx({"constant": 1.0, "poly": 0.0, "cosine": 0.0}[schedule], abs=1e-12)


def test_recipe_identity_keeps_earlier_folder_names():
    from augmentlab.runner.recipe import PRESETS

    # As the runner resolves it for classes without left/right pairs, and scored at the training size as 0.1 did:
    demo = replace(PRESETS["demo"], mirror_pairs="none", eval_size="train")
    assert demo.identity() == (
        "Recipe(epochs=3, image_size=128, batch_size=8, lr=0.001, encoder='resnet18', encoder_weights='none', weight_decay=1e-06, autocast='none')"
    )
    assert "arch='unet'" in replace(demo, arch="unet").identity()
    assert replace(demo, eval_size="native").identity().endswith("autocast='none', eval_size='native')")  # other scores, another folder


def test_missing_imagenet_weights_are_said_before_any_work_without_the_network(tmp_path, monkeypatch):
    from augmentlab.runner.model import imagenet_weights_cached

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))  # an empty cache: nothing downloaded yet
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    assert imagenet_weights_cached("resnet18") is False
    assert imagenet_weights_cached("no-such-encoder") is None
    # the layout huggingface_hub downloads into: a snapshot folder per revision
    from segmentation_models_pytorch.encoders import encoders

    settings = encoders["resnet18"]["pretrained_settings"]["imagenet"]
    snapshot = tmp_path / f"models--{settings['repo_id'].replace('/', '--')}" / "snapshots" / settings["revision"]
    snapshot.mkdir(parents=True)
    (snapshot / "model.safetensors").write_bytes(b"")
    assert imagenet_weights_cached("resnet18") is True
