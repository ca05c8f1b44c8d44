"""The ``sklearn-age`` command, run as a user would: train, predict, evaluate, webcam."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sklearn_age.cli import main
from tests.conftest import DATA_DIR, GROUP, paste_faces

TRAIN = ["--n-samples", "40", "--param", "img_size=32", "--param", "max_epochs=1",
         "--param", "batch_size=16", "--param", "random_state=0", "--quiet"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny models trained through the command line, by target."""
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for target in ("age", "age,gender"):
        paths[target] = str(folder / f"{target.replace(',', '_')}.skage")
        assert main(["train", str(DATA_DIR), "-o", paths[target], "--target", target,
                     *TRAIN]) == 0
    return paths


@pytest.fixture(scope="module")
def crops(faces):
    return [str(path) for path in faces.paths[:5]]


def test_train_prints_a_summary(models, capsys, tmp_path):
    output = str(tmp_path / "ranges.skage")
    assert main(["train", str(DATA_DIR), "-o", output, "--target", "ranges", *TRAIN]) == 0
    printed = capsys.readouterr().out
    for item in ("faces", "AgeClassifier", "epochs", "training time", output):
        assert item in printed


def test_predict_whole_crops_as_table_json_and_csv(models, crops, capsys):
    assert main(["predict", models["age"], *crops, "--faces", "whole"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["photo", "face", "box", "age"]
    assert len(lines) == 1 + len(crops)
    assert main(["predict", models["age,gender"], *crops, "--faces", "whole", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["photo"] for row in rows] == crops
    assert all(0 <= row["age"] <= 120 and row["gender"] in ("male", "female")
               and 0.5 <= row["gender_probability"] <= 1 for row in rows)
    assert main(["predict", models["age"], *crops, "--faces", "whole", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "photo,face,box,age"


def test_predict_finds_every_face_of_a_group_photo(models, group_photo, capsys):
    assert main(["predict", models["age,gender"], group_photo, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["face"] for row in rows] == [1, 2, 3]
    assert [row["box"][0] for row in rows] == sorted(row["box"][0] for row in rows)
    assert all("gender" in row for row in rows)


def test_predict_thousands_of_paths_from_a_file(models, faces, tmp_path, capsys):
    listing = tmp_path / "paths.txt"
    listing.write_text("\n".join(str(path) for path in faces.paths[:1500]))
    assert main(["predict", models["age"], "--paths-from", str(listing),
                 "--faces", "whole", "--csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 1500


def test_predict_reports_an_unreadable_photo_and_goes_on(models, crops, tmp_path, capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert main(["predict", models["age"], crops[0], str(broken), crops[1],
                 "--faces", "whole"]) == 1
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err
    assert len(captured.out.splitlines()) == 4 and "unreadable" in captured.out


def test_evaluate_prints_scores_ranges_and_groups(models, capsys):
    assert main(["evaluate", models["age,gender"], str(DATA_DIR), "--n-samples", "60"]) == 0
    printed = capsys.readouterr().out
    for item in ("MAE (years)", "CS@5", "range recall", "gender accuracy",
                 "Per age range", "Error by gender", "Error by ethnicity", "worst"):
        assert item in printed


def test_evaluate_scores_ranges_with_the_model_s_own(tmp_path, capsys):
    """A model fitted on the "fine" ranges is scored over them, not the life stages."""
    output = str(tmp_path / "fine.skage")
    assert main(["train", str(DATA_DIR), "-o", output, "--target", "ranges",
                 "--param", "ranges=fine", *TRAIN]) == 0
    capsys.readouterr()
    assert main(["evaluate", output, str(DATA_DIR), "--n-samples", "60"]) == 0
    printed = capsys.readouterr().out
    assert "range recall" in printed and "range F1" in printed


@pytest.mark.parametrize("content, message", [
    (None, "No such file"),
    (b"PK\x03\x04 truncated", "model"),
])
def test_bad_model_files_give_one_clear_line(content, message, tmp_path, crops, capsys):
    path = tmp_path / "model.skage"
    if content is not None:
        path.write_bytes(content)
    assert main(["predict", str(path), crops[0]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sklearn-age predict: error:") and message in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def video(background, chips, tmp_path_factory):
    """Four 1200 x 800 frames of three real faces moving right, as an MJPG file."""
    import cv2
    video = str(tmp_path_factory.mktemp("video") / "clip.avi")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 5, (1200, 800))
    for shift in range(4):
        moved = [(x + 20 * shift, y, side) for x, y, side in GROUP]
        frame = np.asarray(paste_faces(background, chips[0], moved))
        writer.write(frame[:, :, ::-1])
    writer.release()
    return video


def test_webcam_on_a_recorded_video(models, video, tmp_path, capsys):
    import cv2
    recorded = str(tmp_path / "annotated.avi")
    assert main(["webcam", models["age,gender"], "--source", video,
                 "--max-frames", "3", "--output", recorded]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.endswith("fps") for line in lines)
    assert all(line.count(" y, ") == 3 for line in lines)  # three faces, each with an age
    capture = cv2.VideoCapture(recorded)
    frames = 0
    while capture.read()[0]:
        frames += 1
    assert frames == 3


def test_webcam_without_a_model_file_uses_the_shipped_model(video, capsys):
    assert main(["webcam", "--source", video, "--max-frames", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.count(" y, ") == 3 for line in lines)
    assert all("male" in line for line in lines)  # the shipped model predicts gender too


def test_webcam_without_a_camera_says_so(models, capsys):
    assert main(["webcam", models["age"], "--source", "9"]) == 2
    assert "Cannot read from camera 9" in capsys.readouterr().err


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "sklearn_age.cli", "predict", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--paths-from" in result.stdout and "--json" in result.stdout


def test_predict_with_detection_reports_an_unreadable_photo_once(models, group_photo, tmp_path,
                                                                 capsys):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert main(["predict", models["age"], group_photo, str(broken), group_photo,
                 "--faces", "detect", "--csv"]) == 1
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 3 + 1 + 3  # three faces, the broken photo, three faces
    assert sum("unreadable" in line for line in lines) == 1


HEAVY = ("torch", "sklearn", "skorch", "timm", "optuna", "PIL", "numpy", "cv2")


@pytest.mark.parametrize("args", [["--help"], ["predict", "--help"], ["search", "--help"]])
def test_help_imports_none_of_the_library_s_dependencies(args):
    code = ("import sys\nfrom sklearn_age import cli\n"
            "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(set({HEAVY!r}) & set(sys.modules)), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *args],
                            capture_output=True, text=True, check=True)
    assert "usage: sklearn-age" in result.stdout
    assert result.stderr.strip() == "[]"


def test_predict_imports_no_search_nor_video(models, crops):
    code = ("import sys\nfrom sklearn_age import cli\n"
            "status = cli.main(sys.argv[1:])\n"
            "print(sorted({'optuna', 'sqlalchemy', 'cv2'} & set(sys.modules)), file=sys.stderr)\n"
            "sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, "predict", models["age"], *crops[:2],
                             "--faces", "whole"], capture_output=True, text=True, check=True)
    assert len(result.stdout.splitlines()) == 3
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_webcam_show_without_a_gui_says_so(models, monkeypatch, background, tmp_path, capsys):
    import cv2

    def headless(*args):
        raise cv2.error("The function is not implemented")

    monkeypatch.setattr(cv2, "imshow", headless)
    video = str(tmp_path / "still.avi")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 5, background.size)
    for _ in range(2):  # open_video reads the first frame to check the source
        writer.write(np.asarray(background)[:, :, ::-1])
    writer.release()
    assert main(["webcam", models["age"], "--source", video, "--show"]) == 2
    err = capsys.readouterr().err
    assert "--show: showing frames needs OpenCV with a GUI" in err and "--output" in err


def test_show_frame_stops_on_q_or_esc(monkeypatch):
    import cv2

    from sklearn_age.webcam import show_frame

    shown = []
    monkeypatch.setattr(cv2, "imshow", lambda title, frame: shown.append(frame))
    frame = np.zeros((4, 6, 3), np.uint8)
    frame[..., 0] = 255  # red, shown to OpenCV as BGR
    for key, stop in ((-1, False), (ord("x"), False), (ord("q"), True), (27, True)):
        monkeypatch.setattr(cv2, "waitKey", lambda delay, key=key: key)
        assert show_frame(frame) is stop
    assert shown[0][0, 0].tolist() == [0, 0, 255]


def test_open_video_writer_takes_the_source_s_rate_and_the_frame_s_size(tmp_path):
    import cv2

    from sklearn_age.webcam import open_video, open_video_writer, read_frames

    source = str(tmp_path / "source.avi")
    writer = cv2.VideoWriter(source, cv2.VideoWriter_fourcc(*"MJPG"), 7, (64, 48))
    for shade in range(3):
        writer.write(np.full((48, 64, 3), 80 * shade, np.uint8))
    writer.release()
    capture = open_video(source)
    frames = list(read_frames(capture))
    copy = str(tmp_path / "copy.avi")
    writer = open_video_writer(copy, frames[0], capture)
    for frame in frames:
        writer.write(frame[:, :, ::-1])
    writer.release()
    capture.release()
    check = cv2.VideoCapture(copy)
    assert check.get(cv2.CAP_PROP_FPS) == 7
    assert (check.get(cv2.CAP_PROP_FRAME_WIDTH), check.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)
    assert int(check.get(cv2.CAP_PROP_FRAME_COUNT)) == len(frames)


def test_a_video_file_is_read_from_its_first_frame(tmp_path):
    import cv2

    from sklearn_age.webcam import open_video, read_frames

    source = str(tmp_path / "shades.avi")
    writer = cv2.VideoWriter(source, cv2.VideoWriter_fourcc(*"MJPG"), 7, (64, 48))
    for shade in (0, 120, 240):
        writer.write(np.full((48, 64, 3), shade, np.uint8))
    writer.release()
    frames = list(read_frames(open_video(source)))
    assert [round(frame.mean() / 120) for frame in frames] == [0, 1, 2]
