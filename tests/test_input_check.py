"""The one input check for photos: every estimator and transformer takes the same
inputs and gives the same messages."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sklearn_age import AgeRegressor, FaceCropper, FaceEmbedder, ImageLoader, ImageLoadError
from sklearn_age.images import check_photos
from tests.conftest import TINY


@pytest.fixture(scope="module")
def consumers(small_faces):
    """Each public way in that takes photos, ready to be called on X."""
    paths, ages = small_faces
    regressor = AgeRegressor(**TINY).fit(paths[:16], ages[:16])
    embedder = FaceEmbedder(img_size=32).fit(paths[:1])
    return {
        "AgeRegressor.fit": lambda X: AgeRegressor(**TINY).fit(X, np.ones(_len(X))),
        "AgeRegressor.predict": regressor.predict,
        "ImageLoader": lambda X: ImageLoader(size=32).fit_transform(X),
        "FaceEmbedder": embedder.transform,
        "FaceCropper": lambda X: FaceCropper(on_missing="skip").fit(X).crop_faces(X),
    }


def _len(X):
    return len(X) if hasattr(X, "__len__") and np.ndim(X) else 1


@pytest.mark.parametrize("single", ["me.jpg", Path("me.jpg"), np.array("me.jpg")],
                         ids=["str", "Path", "0-d array"])
def test_a_single_path_gets_one_message_everywhere(consumers, single):
    for name, call in consumers.items():
        with pytest.raises(ValueError, match=r"single path 'me\.jpg'; wrap it in a list"):
            call(single)


@pytest.mark.parametrize("empty", [[], np.array([], dtype=object), pd.Series([], dtype=object),
                                   np.empty((0, 32, 32, 3), dtype=np.uint8)],
                         ids=["list", "object array", "Series", "image batch"])
def test_no_photos_gets_one_message_everywhere(consumers, empty):
    for name, call in consumers.items():
        with pytest.raises(ValueError, match=r"0 sample\(s\): X holds 0 photos"):
            call(empty)


def test_a_missing_file_is_named_with_its_row_everywhere(consumers, small_faces, tmp_path):
    X = [small_faces[0][0], str(tmp_path / "gone.jpg")]
    for name, call in consumers.items():
        with pytest.raises(ImageLoadError, match=r"row 1: cannot read image .*gone\.jpg"):
            call(X)


def test_paths_in_every_container_give_the_same_predictions(consumers, small_faces):
    paths = list(small_faces[0][20:24])
    predict = consumers["AgeRegressor.predict"]
    expected = predict(paths)
    for X in (np.array(paths), np.array(paths, dtype=object), pd.Series(paths),
              pd.DataFrame({"photo": paths}), [Path(p) for p in paths],
              np.array(paths)[:, None]):
        np.testing.assert_allclose(predict(X), expected, rtol=1e-6)


def test_images_of_any_size_are_taken_by_every_estimator(consumers, small_faces):
    """A list of photos of different sizes, as predict_faces crops them, is resized."""
    paths = small_faces[0][20:22]
    big, small = (ImageLoader(size=size).fit_transform([path])[0]
                  for size, path in zip((64, 40), paths))
    predict = consumers["AgeRegressor.predict"]
    np.testing.assert_allclose(
        predict([big, small]),
        predict(ImageLoader(size=32).fit_transform([big, small])), rtol=1e-6)
    assert consumers["FaceEmbedder"]([big, small]).shape[0] == 2


def test_a_row_that_is_neither_a_path_nor_an_image_is_named(small_faces):
    with pytest.raises(ValueError, match=r"row 1: expected an image path .*got None"):
        check_photos([small_faces[0][0], None])
    with pytest.raises(ValueError, match=r"row 1: expected a uint8 RGB array .*\(2, 2\)"):
        check_photos([np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2), np.uint8)])
    with pytest.raises(ValueError, match="dtype uint8"):
        check_photos(np.zeros((1, 4, 4, 3), np.float32))


def test_a_list_of_photos_is_checked_without_being_copied(small_faces, tmp_path):
    photos = [np.zeros((64, 48, 3), np.uint8), np.zeros((64, 48, 3), np.uint8)]
    checked = check_photos(photos)
    assert all(a is b for a, b in zip(checked, photos))
    ages = small_faces[1][:2]
    model = AgeRegressor(**TINY, checkpoint_dir=tmp_path).fit(photos, ages)  # hashed too
    assert model.predict(photos).shape == (2,)
