"""FaceCropper and predict_faces on "in the wild" photos built from real UTKFace faces.

Each photo is a real background without faces (scikit-learn's ``china.jpg``) with
real UTKFace faces pasted at known places and sizes, saved as JPEG.
"""

import pickle
import sys
import time

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from tests.conftest import GROUP, TINY, paste_faces, save_image
from sklearn_age import (
    AgeClassifier,
    AgeGenderEstimator,
    AgeRegressor,
    FaceCropper,
    ImageLoadError,
    predict_faces,
)
from sklearn_age import faces as faces_module
from sklearn_age.images import read_photo

@pytest.fixture(scope="module")
def empty_photo(background, tmp_path_factory):
    return save_image(background, tmp_path_factory.mktemp("photos") / "no_face.jpg")


@pytest.fixture(scope="module")
def few_faces(small_faces):
    """24 real faces and their ages: enough for a TINY fit."""
    return small_faces[0][:24], small_faces[1][:24]


@pytest.fixture(scope="module")
def regressor(few_faces):
    return AgeRegressor(**TINY).fit(*few_faces)


def _correlation(a, b):
    a, b = (np.asarray(Image.fromarray(np.asarray(x)).convert("L").resize((64, 64)), float)
            for x in (a, b))
    return np.corrcoef(a.ravel(), b.ravel())[0, 1]


def _iou(box, placement):
    x, y, w, h = box
    px, py, side = placement
    overlap_x = max(0, min(x + w, px + side) - max(x, px))
    overlap_y = max(0, min(y + h, py + side) - max(y, py))
    overlap = overlap_x * overlap_y
    return overlap / (w * h + side * side - overlap)


def test_crops_the_largest_face(group_photo, chips):
    crops = FaceCropper().fit_transform([group_photo])
    assert crops.shape == (1, 112, 112, 3) and crops.dtype == np.uint8
    similarity = [_correlation(crops[0], chip.resize((112, 112))) for chip in chips[0][:3]]
    assert similarity[0] > 0.5  # the largest face, framed like its UTKFace crop
    assert similarity[0] > max(similarity[1:]) + 0.2


def test_detection_finds_single_faces_quickly(background, chips, tmp_path, capsys):
    """One face per photo, at several sizes and places: found where it was pasted."""
    rng = np.random.RandomState(0)
    decode, detect, ious = [], [], []
    for i, chip in enumerate(chips[0]):
        side = int(rng.choice([110, 180, 280]))
        place = (rng.randint(0, 1200 - side), rng.randint(0, 800 - side), side)
        path = save_image(paste_faces(background, [chip], [place]), tmp_path / f"{i}.jpg")
        start = time.perf_counter()
        photo = read_photo(path)
        decoded = time.perf_counter()
        boxes = faces_module._detect_faces(photo)
        decode.append(decoded - start)
        detect.append(time.perf_counter() - decoded)
        ious.append([_iou(box, place) for box in boxes])
    with capsys.disabled():
        print(f"\n1200x800 JPEG, median of {len(detect)}: decode "
              f"{1000 * np.median(decode):.0f} ms, detect {1000 * np.median(detect):.0f} ms; "
              f"IoU {[np.round(iou, 2).tolist() for iou in ious]}")
    assert all(len(iou) == 1 and iou[0] > 0.5 for iou in ious)


def test_predict_faces_returns_every_face_left_to_right(regressor, group_photo):
    faces = predict_faces(regressor, group_photo)
    assert len(faces) == 3
    xs = [face["box"][0] for face in faces]
    assert xs == sorted(xs)
    for face, placement in zip(faces, sorted(GROUP)):
        assert set(face) == {"box", "age"}
        assert _iou(face["box"], placement) > 0.5
        assert isinstance(face["age"], float) and 0 <= face["age"] <= 120


def test_predict_faces_with_a_classifier_gives_label_and_probability(few_faces, group_photo):
    classifier = AgeClassifier(**TINY).fit(*few_faces)
    faces = predict_faces(classifier, read_photo(group_photo))
    assert len(faces) == 3
    for face in faces:
        assert face["age"] in classifier.classes_
        assert 1 / len(classifier.classes_) <= face["age_probability"] <= 1


def test_predict_faces_uses_the_cropper_of_a_pipeline(regressor, group_photo):
    cropper = FaceCropper(size=48, margin=0.2)
    model = make_pipeline(cropper, regressor)
    assert predict_faces(model, group_photo) == predict_faces(regressor, group_photo, cropper)


def test_predict_faces_with_a_pipeline_ending_in_age_and_gender(few_faces, group_photo):
    """The last step of a pipeline describes the faces: years in "age", labels in "gender"."""
    paths, ages = few_faces
    genders = np.arange(len(paths)) % 2
    both = AgeGenderEstimator(**TINY).fit(paths, np.column_stack([ages, genders]))
    records = predict_faces(make_pipeline(FaceCropper(size=48), both), group_photo)
    assert len(records) == 3
    for record in records:
        assert isinstance(record["age"], float) and 0 <= record["age"] <= 120
        assert record["gender"] in both.gender_classes_
        assert 0.5 <= record["gender_probability"] <= 1


def test_predict_faces_without_a_face_is_empty(regressor, empty_photo):
    assert predict_faces(regressor, empty_photo) == []


def test_missing_face_raises_naming_the_file_and_row(group_photo, empty_photo):
    with pytest.raises(ValueError, match=r"row 1: no face found in '.*no_face\.jpg'"):
        FaceCropper().fit_transform([group_photo, empty_photo])


def test_missing_face_full_image_uses_the_centre_square(group_photo, empty_photo, background):
    crops = FaceCropper(size=64, on_missing="full_image").fit_transform(
        [group_photo, empty_photo])
    assert crops.shape == (2, 64, 64, 3)
    centre = background.crop((200, 0, 1000, 800)).resize((64, 64))
    assert np.abs(crops[1].astype(int) - np.asarray(centre)).mean() < 6


def test_skip_drops_rows_only_through_crop_faces(group_photo, empty_photo):
    photos = [empty_photo, group_photo, empty_photo]
    cropper = FaceCropper(on_missing="skip")
    faces, kept = cropper.crop_faces(photos)
    assert faces.shape == (1, 112, 112, 3)
    np.testing.assert_array_equal(kept, [1])
    with pytest.raises(ValueError, match=r"row 0: no face .*crop_faces"):
        cropper.fit_transform(photos)
    none, kept = cropper.crop_faces([empty_photo])
    assert none.shape == (0, 112, 112, 3) and kept.shape == (0,)


def test_huge_photo_is_searched_downscaled(background, chips, tmp_path, monkeypatch, capsys):
    photo = background.resize((8000, 6000), Image.NEAREST)
    photo.paste(chips[0][1].resize((1500, 1500)), (5200, 2400))
    path = save_image(photo, tmp_path / "huge.jpg", quality=80)
    searched = []
    cascade = faces_module._cascade()

    class Spy:
        def detectMultiScale(self, gray, **kwargs):
            searched.append(gray.shape)
            return cascade.detectMultiScale(gray, **kwargs)

    monkeypatch.setattr(faces_module, "_cascade", Spy)
    start = time.perf_counter()
    crops, kept = FaceCropper().crop_faces([path])
    seconds = time.perf_counter() - start
    with capsys.disabled():
        print(f"\nFaceCropper, 8000x6000 JPEG: {seconds:.2f} s (decode, detect, crop)")
    assert searched == [(480, 640)] and kept.tolist() == [0]
    assert _correlation(crops[0], chips[0][1].resize((112, 112))) > 0.5


def _sideways_with_exif(photo):
    """``photo`` stored rotated, with the EXIF orientation that turns it upright."""
    stored = photo.transpose(Image.Transpose.ROTATE_90)
    exif = stored.getexif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    return stored, {"exif": exif}


@pytest.mark.parametrize("kind", ["grayscale", "rgba", "exif_rotated"])
def test_unusual_photos_are_upright_rgb(kind, background, chips, tmp_path):
    photo = paste_faces(background, chips[0], GROUP)
    if kind == "grayscale":
        path = save_image(photo.convert("L"), tmp_path / "gray.jpg")
    elif kind == "rgba":
        path = save_image(photo.convert("RGBA"), tmp_path / "alpha.png")
    else:
        stored, kwargs = _sideways_with_exif(photo)
        path = save_image(stored, tmp_path / "phone.jpg", **kwargs)
    faces, kept = FaceCropper().crop_faces([path])
    assert faces.shape == (1, 112, 112, 3) and kept.tolist() == [0]
    assert _correlation(faces[0], chips[0][0].resize((112, 112))) > 0.5


def test_arrays_of_any_size_are_accepted(background, chips):
    small = np.asarray(paste_faces(background, chips[0], GROUP).resize((600, 400)))
    large = np.asarray(paste_faces(background, chips[0][1:], GROUP[:2]))
    crops = FaceCropper(size=40).fit_transform([small, large])
    assert crops.shape == (2, 40, 40, 3)
    with pytest.raises(ValueError, match="row 1: expected a uint8 RGB array"):
        FaceCropper().fit_transform([small, small.astype(float)])


def test_bad_input_is_refused_clearly(group_photo, tmp_path):
    with pytest.raises(ValueError, match="wrap it in a list"):
        FaceCropper().fit_transform(group_photo)
    with pytest.raises(ValueError, match="0 photos"):
        FaceCropper().fit_transform([])
    with pytest.raises(ImageLoadError, match="row 1: .*missing.jpg"):
        FaceCropper().fit_transform([group_photo, str(tmp_path / "missing.jpg")])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    with pytest.raises(ImageLoadError, match="row 0: .*broken.jpg"):
        FaceCropper().transform([str(broken)])
    with pytest.raises(InvalidParameterError, match="on_missing"):
        FaceCropper(on_missing="drop").fit([group_photo])


def test_pipeline_fits_and_predicts_on_photos(background, chips, tmp_path):
    images, ages = chips
    places = [(100 + 150 * i, 60 + 80 * i, 200 + 20 * i) for i in range(4)]
    paths = [save_image(paste_faces(background, [image], [place]), tmp_path / f"{i}.jpg")
             for i, (image, place) in enumerate(zip(images, places))]
    model = make_pipeline(FaceCropper(size=TINY["img_size"]), AgeRegressor(**TINY))
    predictions = model.fit(paths, ages[:4]).predict(paths)
    assert predictions.shape == (4,) and np.all((predictions >= 0) & (predictions <= 120))


def test_clone_params_and_pickle(group_photo):
    cropper = FaceCropper(size=64, margin=0.25, on_missing="skip", detection_size=320)
    assert clone(cropper).get_params() == cropper.get_params()
    fitted = cropper.fit([group_photo])
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform([group_photo]),
                                  fitted.transform([group_photo]))


def test_without_opencv_the_error_says_what_to_install(monkeypatch, group_photo):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-age\[faces\]"'):
        FaceCropper().fit([group_photo])
