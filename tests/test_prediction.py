"""Prediction over many photos: every face predicted, unreadable photos named, none printed."""

import numpy as np
import pytest
from PIL import Image

from sklearn_age import AgeRegressor, predict_photos
from tests.conftest import TINY


@pytest.fixture(scope="module")
def model(small_faces):
    paths, ages = small_faces
    return AgeRegressor(**TINY).fit(paths[:20], ages[:20])


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    path = tmp_path_factory.mktemp("broken") / "broken.jpg"
    path.write_bytes(b"not a jpeg")
    return str(path)


def test_a_corrupt_photo_among_good_ones_is_named_and_the_rest_predicted(model, small_faces,
                                                                         broken, capsys):
    good = [str(path) for path in small_faces[0][20:25]]
    photos = good[:3] + [broken] + good[3:]
    result = predict_photos(model, photos, faces="whole", chunk_size=4)
    assert [row["photo"] for row in result.rows] == photos
    assert [row["box"] for row in result.rows] == ["whole photo"] * 3 + ["unreadable"] + [
        "whole photo"] * 2
    predicted = [row["age"] for row in result.rows if row["box"] == "whole photo"]
    np.testing.assert_allclose(predicted, model.predict(good), rtol=1e-5)
    assert len(result.errors) == 1
    photo, message = result.errors[0]
    assert photo == broken and "broken.jpg" in message
    assert capsys.readouterr() == ("", "")  # the library reports, the caller prints


def test_detection_gives_a_row_per_face_and_says_when_there_is_none(model, group_photo,
                                                                    broken, tmp_path):
    blank = str(tmp_path / "blank.png")
    Image.new("RGB", (300, 200), (128, 128, 128)).save(blank)
    detected = predict_photos(model, [group_photo, broken, blank], faces="detect")
    assert [(row["photo"], row["face"]) for row in detected.rows] == [
        (group_photo, 1), (group_photo, 2), (group_photo, 3), (broken, 0), (blank, 0)]
    assert [row["box"] for row in detected.rows[3:]] == ["unreadable", "no face found"]
    assert all(len(row["box"]) == 4 and "age" in row for row in detected.rows[:3])
    assert [photo for photo, _ in detected.errors] == [broken]
    auto = predict_photos(model, [blank], faces="auto")
    assert auto.rows[0]["box"] == "whole photo" and "age" in auto.rows[0]
    assert auto.errors == []


@pytest.mark.parametrize("kwargs, message", [
    ({"faces": "sometimes"}, "faces must be one of"),
    ({"chunk_size": 0}, "chunk_size must be a positive integer"),
])
def test_bad_arguments_are_named(model, group_photo, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predict_photos(model, [group_photo], **kwargs)
