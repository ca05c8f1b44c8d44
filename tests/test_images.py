import numpy as np
import pytest
from PIL import Image

from sklearn_age import ImageLoader, ImageLoadError, read_image
from sklearn_age import images as images_module


def _save(tmp_path, name, image, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return str(path)


def test_real_face_decodes_to_uint8_rgb(small_faces):
    image = read_image(small_faces[0][0], 48)
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert 20 < image.mean() < 235  # a real photo, not a blank


@pytest.mark.parametrize(
    "mode, value, expected",
    [
        ("L", 200, (200, 200, 200)),
        ("P", None, (255, 0, 0)),
        ("CMYK", (0, 255, 255, 0), (255, 0, 0)),
        ("I;16", 65535, (255, 255, 255)),
        ("I;16", 32896, (128, 128, 128)),
        ("RGBA", (255, 0, 0, 255), (255, 0, 0)),
        ("RGBA", (255, 0, 0, 0), (255, 255, 255)),  # transparent over white
        ("LA", (0, 255), (0, 0, 0)),
    ],
)
def test_every_mode_becomes_rgb(tmp_path, mode, value, expected):
    if mode == "P":
        image = Image.new("RGB", (40, 40), (255, 0, 0)).convert("P")
    else:
        image = Image.new(mode, (40, 40), value)
    fmt = {"CMYK": "JPEG"}.get(mode, "PNG")
    if mode == "CMYK":
        path = _save(tmp_path, "img.jpg", image, quality=100)
        tolerance = 3
    else:
        path = _save(tmp_path, "img.png", image)
        tolerance = 1
    out = read_image(path, 16)
    assert out.shape == (16, 16, 3)
    assert np.abs(out.reshape(-1, 3).mean(0) - expected).max() <= tolerance, fmt


def test_exif_orientation_is_applied(tmp_path):
    # A wide image, left half red; EXIF orientation 6 means "rotate 90 degrees clockwise".
    array = np.zeros((20, 40, 3), dtype=np.uint8)
    array[:, :20] = (255, 0, 0)
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6
    path = _save(tmp_path, "rotated.jpg", image, exif=exif, quality=100)
    # Without crop: check through a square crop of the rotated (now tall) image.
    out = read_image(path, 20)
    # After rotating clockwise the red half is on top.
    assert out[2, 10, 0] > 200 and out[2, 10, 1] < 60
    assert out[17, 10, 0] < 60


def test_non_square_is_centre_cropped(tmp_path):
    array = np.zeros((10, 30, 3), dtype=np.uint8)
    array[:, 10:20] = 255  # white centre, black sides
    out = read_image(_save(tmp_path, "wide.png", Image.fromarray(array)), 10)
    assert out.min() == 255


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("missing.jpg", None, "no such file"),
        ("empty.jpg", b"", "empty"),
        ("text.jpg", b"hello", "not an image"),
        ("", None, "directory"),
    ],
)
def test_unreadable_files_name_file_and_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=reason) as info:
        read_image(path, 16)
    assert repr(str(path)) in str(info.value)


def test_truncated_jpeg(tmp_path, small_faces):
    data = open(small_faces[0][0], "rb").read()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="corrupt or truncated.*|truncated"):
        read_image(path, 16)


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    path = _save(tmp_path, "big.png", Image.new("RGB", (100, 100)))
    monkeypatch.setattr(images_module, "MAX_PIXELS", 5000)
    with pytest.raises(ImageLoadError, match="too large"):
        read_image(path, 16)


def test_image_loader_on_real_faces(small_faces):
    paths = small_faces[0][:5]
    images = ImageLoader(size=40).fit_transform(paths)
    assert images.shape == (5, 40, 40, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[2], read_image(paths[2], 40))


def test_image_loader_error_names_row_and_file(tmp_path, small_faces):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    paths = list(small_faces[0][:3]) + [str(bad)]
    with pytest.raises(ImageLoadError, match=r"row 3: .*broken\.jpg.*not an image"):
        ImageLoader(size=16).fit_transform(paths)


def test_image_loader_rejects_empty_and_single_path(small_faces):
    with pytest.raises(ValueError, match="0 sample"):
        ImageLoader().fit_transform([])
    with pytest.raises(ValueError, match="single path"):
        ImageLoader().fit_transform(small_faces[0][0])
