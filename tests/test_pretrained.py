"""The shipped ready-trained model: predicting, fine-tuning from it, and its errors."""

import importlib.util
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from sklearn_age import (
    AgeGenderEstimator,
    AgeRegressor,
    ModelFileError,
    load_pretrained,
    pretrained,
)
from sklearn_age.cli import main
from sklearn_age.datasets import GENDER_NAMES
from sklearn_age.nets import age_bins
from tests.conftest import TINY


@pytest.fixture(scope="module")
def shipped():
    return load_pretrained()


@pytest.fixture(scope="module")
def unseen(faces):
    """300 faces of the core benchmark's test split, which the shipped model never saw."""
    _, test = train_test_split(np.arange(len(faces.paths)), test_size=0.2, random_state=0)
    return faces.paths[test[:300]], faces.age[test[:300]], faces.gender[test[:300]]


def test_the_shipped_model_predicts_age_and_gender_of_unseen_faces(shipped, unseen):
    paths, ages, genders = unseen
    assert isinstance(shipped, AgeGenderEstimator)
    predicted = shipped.predict(paths)
    assert np.abs(predicted[:, 0].astype(float) - ages).mean() < 6.0
    older = ages >= 3
    assert np.mean(predicted[older, 1] == GENDER_NAMES[genders[older]]) > 0.85


def test_the_shipped_model_holds_the_recipe_that_re_creates_it(shipped):
    """``bench/train_pretrained.py`` trains what ships: same parameters, spread included."""
    script = Path(__file__).parents[1] / "bench" / "train_pretrained.py"
    spec = importlib.util.spec_from_file_location("train_pretrained", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params = shipped.get_params()
    assert {name: params[name] for name in module.RECIPE} == module.RECIPE


def test_the_shipped_model_can_be_cloned_and_its_file_is_small(shipped):
    assert clone(shipped).get_params() == shipped.get_params()
    assert pretrained.pretrained_model_path().stat().st_size < 10 * 2**20


def test_fine_tuning_starts_from_the_shipped_backbone_and_age_head(shipped, small_faces):
    paths, ages = small_faces
    tuned = AgeRegressor(**{**TINY, "img_size": 64}, pretrained="utkface", lr=1e-9)
    tuned.fit(paths[:16], ages[:16])
    start = shipped.net_.module_.backbone.conv_stem.weight
    np.testing.assert_allclose(tuned.net_.module_.backbone.conv_stem.weight.detach(),
                               start.detach(), atol=1e-6)
    years = len(age_bins())
    shipped_head, tuned_head = shipped.net_.module_.head[-1], tuned.net_.module_.head[-1]
    np.testing.assert_allclose(tuned_head.weight.detach(),
                               shipped_head.weight[:years].detach(), atol=1e-6)
    np.testing.assert_allclose(tuned_head.bias.detach(),
                               shipped_head.bias[:years].detach(), atol=1e-6)
    imagenet = AgeRegressor(**{**TINY, "img_size": 64}, lr=1e-9).fit(paths[:16], ages[:16])
    assert not np.allclose(imagenet.net_.module_.backbone.conv_stem.weight.detach(),
                           start.detach(), atol=1e-3)


def test_fine_tuning_another_backbone_from_it_is_refused(small_faces):
    paths, ages = small_faces
    with pytest.raises(ValueError, match="tf_efficientnet_lite0"):
        AgeRegressor(**TINY, backbone="simple_cnn", pretrained="utkface").fit(paths[:8],
                                                                            ages[:8])


def test_an_unknown_name_lists_the_shipped_models():
    with pytest.raises(ValueError, match=r"No shipped model is named 'adience'.*'utkface'"):
        load_pretrained("adience")


def test_a_missing_shipped_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path)
    with pytest.raises(ModelFileError, match="missing.*age_gender_utkface.skage.*Reinstall"):
        load_pretrained()


def test_a_damaged_shipped_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path)
    (tmp_path / "age_gender_utkface.skage").write_bytes(b"truncated")
    with pytest.raises(ModelFileError, match="age_gender_utkface.skage"):
        load_pretrained()


def test_a_shipped_file_of_another_format_version_is_refused(tmp_path, monkeypatch):
    source = pretrained.pretrained_model_path()
    target = tmp_path / source.name
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                config["format_version"] = 99
                data = json.dumps(config)
            new.writestr(item, data)
    monkeypatch.setattr(pretrained, "MODELS_DIR", tmp_path)
    with pytest.raises(ModelFileError, match="format version 99"):
        load_pretrained()


def test_the_command_line_predicts_with_the_shipped_model(unseen, capsys):
    paths = [str(path) for path in unseen[0][:3]]
    assert main(["predict", *paths, "--faces", "whole", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["photo"] for row in rows] == paths
    assert all(0 <= row["age"] <= 120 and row["gender"] in ("male", "female") for row in rows)
