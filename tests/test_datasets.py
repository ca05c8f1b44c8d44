import numpy as np
import pytest

from sklearn_age import load_image_folder, load_utkface


def test_load_utkface_real_folder(faces):
    assert len(faces.paths) == 7811
    assert faces.age.min() >= 1 and faces.age.max() <= 116
    assert set(np.unique(faces.gender)) == {0, 1}
    assert set(np.unique(faces.race)) <= {0, 1, 2, 3, 4}
    assert [name for name, _ in faces.skipped] == ["61_1_20170109142408075.jpg.chip.jpg"]


def test_load_utkface_warns_once_about_skipped(tmp_path):
    (tmp_path / "25_0_1_20170101.jpg.chip.jpg").write_bytes(b"x")
    (tmp_path / "61_1_20170109.jpg.chip.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning, match="skipped 1 file") as record:
        data = load_utkface(tmp_path)
    assert len(record) == 1
    assert data.age.tolist() == [25] and data.gender.tolist() == [0]
    assert data.race.tolist() == [1]
    assert data.skipped[0][0] == "61_1_20170109.jpg.chip.jpg"


def test_load_utkface_missing_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*UTKFace"):
        load_utkface(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no photo"):
        load_utkface(tmp_path)


def test_load_image_folder_csv(tmp_path):
    (tmp_path / "faces.csv").write_text("path,age\na.jpg,31\nsub/b.jpg,4.5\n")
    data = load_image_folder(tmp_path / "faces.csv")
    assert data.paths.tolist() == [str(tmp_path / "a.jpg"), str(tmp_path / "sub/b.jpg")]
    assert data.age.tolist() == [31.0, 4.5]


@pytest.mark.parametrize(
    "text, match",
    [
        ("file,age\na.jpg,3\n", "lacks the column"),
        ("path,age\na.jpg,3\nb.jpg,-2\n", "line 3"),
        ("path,age\na.jpg,old\n", "line 2"),
        ("path,age\n", "lists no faces"),
    ],
)
def test_load_image_folder_bad_csv(tmp_path, text, match):
    (tmp_path / "faces.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_image_folder(tmp_path / "faces.csv")


def test_load_utkface_random_subset(faces):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        subset = load_utkface(faces.folder, n_samples=50, random_state=0)
        again = load_utkface(faces.folder, n_samples=50, random_state=0)
    assert len(subset.paths) == len(subset.age) == len(subset.race) == 50
    assert subset.paths.tolist() == again.paths.tolist()
    assert set(subset.paths) <= set(faces.paths)
    index = {path: i for i, path in enumerate(faces.paths)}
    assert [faces.age[index[p]] for p in subset.paths] == subset.age.tolist()


def test_load_image_folder_random_subset(tmp_path):
    rows = "".join(f"face{i}.jpg,{i}\n" for i in range(20))
    (tmp_path / "faces.csv").write_text("path,age\n" + rows)
    subset = load_image_folder(tmp_path / "faces.csv", n_samples=5, random_state=0)
    again = load_image_folder(tmp_path / "faces.csv", n_samples=5, random_state=0)
    assert subset.paths.tolist() == again.paths.tolist()
    assert len(subset.age) == 5 and subset.age.tolist() == sorted(subset.age.tolist())
    assert all(path.endswith(f"face{age:.0f}.jpg")
               for path, age in zip(subset.paths, subset.age))
    assert len(load_image_folder(tmp_path / "faces.csv", n_samples=50).paths) == 20


def test_load_faces_reads_a_folder_or_a_csv_file(faces, tmp_path):
    import warnings

    from sklearn_age import load_faces

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        folder = load_faces(faces.folder, n_samples=30, random_state=0)
        expected = load_utkface(faces.folder, n_samples=30, random_state=0)
    assert folder.paths.tolist() == expected.paths.tolist()
    assert folder.race.tolist() == expected.race.tolist()
    listing = tmp_path / "faces.csv"
    listing.write_text("path,age\n" + "".join(
        f"{path},{age}\n" for path, age in zip(faces.paths[:10], faces.age[:10])))
    table = load_faces(listing, n_samples=4, random_state=0)
    assert len(table.paths) == 4 and set(table.paths) <= set(faces.paths[:10])
    assert "gender" not in table
    with pytest.raises(FileNotFoundError, match="neither a folder of faces nor a CSV file"):
        load_faces(tmp_path / "nope")


def test_list_photos_expands_folders_by_suffix(tmp_path):
    from sklearn_age import list_photos

    album = tmp_path / "album"
    album.mkdir()
    for name in ("b.JPG", "a.png", "notes.txt", "c.webp"):
        (album / name).write_bytes(b"x")
    (album / "inner").mkdir()
    single = str(tmp_path / "single.gif")
    assert list_photos([single, album]) == [
        single, str(album / "a.png"), str(album / "b.JPG"), str(album / "c.webp")]
    assert list_photos([]) == []
