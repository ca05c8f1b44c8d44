"""Exported models: load_onnx predicts like the estimator without PyTorch; int8 export;
the command line runs .onnx files."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import pytest
from sklearn.metrics import get_scorer

from sklearn_age import (
    AgeClassifier,
    AgeGenderEstimator,
    AgeRegressor,
    ModelFileError,
    evaluate_model,
    export_onnx,
    load_onnx,
    predict_faces,
    predict_photos,
    save_model,
)
from sklearn_age.cli import main
from sklearn_age.onnx_model import ExportedAgeGender, ExportedClassifier, ExportedRegressor
from tests.conftest import TINY

CNN = {**TINY, "backbone": "simple_cnn"}


@pytest.fixture(scope="module")
def paths(small_faces):
    return [str(path) for path in small_faces[0]]


@pytest.fixture(scope="module")
def ages(small_faces):
    return small_faces[1]


@pytest.fixture(scope="module")
def regressor(paths, ages):
    """The default backbone (EfficientNet-Lite0), flip test on."""
    return AgeRegressor(**TINY, flip_test=True).fit(paths[:40], ages[:40])


@pytest.fixture(scope="module")
def exported(regressor, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "age.onnx"
    export_onnx(regressor, path)
    return str(path)


def test_exported_regressor_predicts_as_the_estimator_does(regressor, exported, paths):
    model = load_onnx(exported, batch_size=7)  # batches that do not divide the photos
    assert isinstance(model, ExportedRegressor)
    assert (model.estimator_name, model.img_size) == ("AgeRegressor", 32)
    np.testing.assert_allclose(model.predict(paths[40:]), regressor.predict(paths[40:]),
                               rtol=1e-5)
    assert "AgeRegressor" in repr(model)


def test_exported_classifier_gives_labels_and_probabilities(paths, ages, tmp_path):
    labels = np.where(ages >= 30, "adult", "young")
    clf = AgeClassifier(**CNN, ranges=None, flip_test=False).fit(paths[:40], labels[:40])
    export_onnx(clf, tmp_path / "clf.onnx")
    model = load_onnx(tmp_path / "clf.onnx")
    assert isinstance(model, ExportedClassifier)
    assert model.classes_.tolist() == ["adult", "young"]
    np.testing.assert_allclose(model.predict_proba(paths[40:]), clf.predict_proba(paths[40:]),
                               atol=1e-5)
    np.testing.assert_array_equal(model.predict(paths[40:]), clf.predict(paths[40:]))
    assert get_scorer("accuracy")(model, paths[40:], labels[40:]) == pytest.approx(
        clf.score(paths[40:], labels[40:]))
    records = predict_faces(model, paths[40])  # a classifier: label and its probability
    assert all(set(record) >= {"age", "age_probability"} for record in records)


def test_exported_age_gender_model_gives_both(paths, ages, tmp_path):
    both = AgeGenderEstimator(**CNN).fit(paths[:40], np.column_stack([ages[:40],
                                                                      ages[:40] % 2]))
    export_onnx(both, tmp_path / "both.onnx")
    model = load_onnx(tmp_path / "both.onnx")
    assert isinstance(model, ExportedAgeGender)
    years, proba = model.predict_age_and_gender_proba(paths[40:])
    expected_years, expected_proba = both.predict_age_and_gender_proba(paths[40:])
    np.testing.assert_allclose(years, expected_years, rtol=1e-5)
    np.testing.assert_allclose(proba, expected_proba, atol=1e-5)
    np.testing.assert_allclose(model.predict(paths[40:]), both.predict(paths[40:]), rtol=1e-5)


def test_threads_predicting_with_an_exported_model_at_once_agree(exported, paths):
    model = load_onnx(exported, batch_size=4)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(model.predict, [paths[40:]] * 8))
    for result in results:
        np.testing.assert_array_equal(result, results[0])
    np.testing.assert_allclose(results[0], model.predict(paths[40:]), rtol=1e-6)


def test_exported_model_serves_photos_and_evaluation(regressor, exported, paths, ages):
    model = load_onnx(exported)
    rows = predict_photos(model, paths[40:45], faces="whole").rows
    np.testing.assert_allclose([row["age"] for row in rows], regressor.predict(paths[40:45]),
                               rtol=1e-5)
    report = evaluate_model(model, {"paths": np.asarray(paths[40:]), "age": ages[40:]})
    expected = evaluate_model(regressor, {"paths": np.asarray(paths[40:]), "age": ages[40:]})
    assert report.mae == pytest.approx(expected.mae, rel=1e-5)
    score = get_scorer("neg_mean_absolute_error")(model, paths[40:], ages[40:])
    assert score == pytest.approx(-np.abs(model.predict(paths[40:]) - ages[40:]).mean())


def test_exported_model_checks_its_input_as_the_estimator_does(exported, tmp_path):
    model = load_onnx(exported)
    with pytest.raises(ValueError, match="wrap it in a list"):
        model.predict("me.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ValueError, match=r"row 0: .*broken\.jpg"):
        model.predict([str(broken)])


def test_int8_export_is_smaller_close_and_says_so(regressor, exported, paths, tmp_path):
    path = tmp_path / "age-int8.onnx"
    export_onnx(regressor, path, quantize=True, calibration=paths[:40])
    graph = onnx.load(path)
    assert any(node.op_type == "QuantizeLinear" for node in graph.graph.node)
    assert path.stat().st_size < 0.4 * os.path.getsize(exported)  # int8 weights
    int8, float32 = load_onnx(path), load_onnx(exported)
    metadata = int8.session.get_modelmeta().custom_metadata_map
    assert (metadata["quantized"], metadata["sklearn_age_estimator"]) == ("int8", "AgeRegressor")
    assert float32.session.get_modelmeta().custom_metadata_map["quantized"] == "no"
    difference = np.abs(int8.predict(paths[40:]) - float32.predict(paths[40:]))
    assert difference.max() < 2.0  # years; the core benchmark measures the MAE it costs


@pytest.mark.parametrize("Estimator", [AgeClassifier, AgeGenderEstimator])
def test_int8_export_of_models_with_probabilities(Estimator, paths, ages, tmp_path):
    """Their softmax output layers run in float64 and stay unquantized."""
    y = ages if Estimator is AgeClassifier else np.column_stack([ages, ages >= 30])
    estimator = Estimator(**CNN).fit(paths[:40], y[:40])
    path = tmp_path / "int8.onnx"
    export_onnx(estimator, path, quantize=True, calibration=paths[:40])
    proba = load_onnx(path)._predict_outputs(paths[40:])["proba"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    float32 = estimator._predict_outputs(paths[40:])["proba"]
    assert np.abs(proba - float32).max() < 0.2


def test_int8_export_needs_calibration_faces(regressor, tmp_path):
    with pytest.raises(ValueError, match="quantize=True needs calibration faces"):
        export_onnx(regressor, tmp_path / "age.onnx", quantize=True)


def test_load_onnx_names_what_is_wrong_with_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.onnx"):
        load_onnx(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"not an onnx model")
    with pytest.raises(ModelFileError, match="garbage.onnx.*not a readable ONNX model"):
        load_onnx(garbage)
    identity = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "foreign",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])]))
    foreign = tmp_path / "foreign.onnx"
    onnx.save(identity, foreign)
    with pytest.raises(ModelFileError, match="not one that sklearn_age.export_onnx wrote.*"
                                             "AgeRegressor"):
        load_onnx(foreign)


def test_command_line_exports_and_predicts_without_torch_nor_scikit_learn(regressor, paths, tmp_path):
    model_file = str(tmp_path / "age.skage")
    save_model(regressor, model_file)
    graph = str(tmp_path / "age.onnx")
    assert main(["export", model_file, graph]) == 0
    code = ("import sys\nfrom sklearn_age import cli\n"
            "status = cli.main(sys.argv[1:])\n"
            "print(sorted({'torch', 'timm', 'skorch', 'sklearn'} & set(sys.modules)), "
            "file=sys.stderr)\n"
            "sys.exit(status)")
    result = subprocess.run([sys.executable, "-c", code, "predict", graph, *paths[40:45],
                             "--faces", "whole", "--csv"],
                            capture_output=True, text=True, check=True)
    assert result.stderr.strip().splitlines()[-1] == "[]"
    printed = [float(line.split(",")[-1]) for line in result.stdout.splitlines()[1:]]
    np.testing.assert_allclose(printed, regressor.predict(paths[40:45]), atol=0.051)


def test_command_line_int8_export_needs_calibration(regressor, paths, tmp_path, capsys):
    model_file = str(tmp_path / "age.skage")
    save_model(regressor, model_file)
    int8 = str(tmp_path / "age-int8.onnx")
    assert main(["export", model_file, int8, "--quantize"]) == 2
    assert "--quantize needs calibration faces" in capsys.readouterr().err
    assert main(["export", model_file, int8, "--quantize", "--calibration", *paths[:40]]) == 0
    assert load_onnx(int8).session.get_modelmeta().custom_metadata_map["quantized"] == "int8"
