"""FaceEmbedder: frozen features, cached, feeding a head-only regressor."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from sklearn_age import AgeRegressor, FaceEmbedder, ImageLoader
from sklearn_age import embedding as embedding_module


def test_embeddings_of_paths_and_images_agree(small_faces):
    paths = small_faces[0][:6]
    embedder = FaceEmbedder(img_size=32).fit(paths)
    from_paths = embedder.transform(paths)
    assert from_paths.shape == (6, embedder.n_features_out_) == (6, 1280)
    assert from_paths.dtype == np.float32 and np.all(np.isfinite(from_paths))
    from_images = embedder.transform(ImageLoader(size=32).fit_transform(paths))
    np.testing.assert_allclose(from_images, from_paths, rtol=1e-4, atol=1e-5)
    assert embedder.get_feature_names_out()[0] == "embedding0"


def test_fast_path_grid_search_embeds_each_input_once(small_faces, tmp_path, monkeypatch):
    paths, ages = small_faces
    calls = []
    real_embed = embedding_module._embed

    def counting_embed(model, *args):
        calls.append(len(args[-1]))
        return real_embed(model, *args)

    monkeypatch.setattr(embedding_module, "_embed", counting_embed)
    cache = str(tmp_path / "cache")
    pipe = Pipeline(
        [("load", ImageLoader(size=32)), ("embed", FaceEmbedder(img_size=32, memory=cache)),
         ("head", AgeRegressor(backbone=None, max_epochs=3, random_state=0))],
        memory=cache,
    )
    grid = {"head__lr": [1e-3, 3e-3], "head__weight_decay": [0.0, 1e-4],
            "head__dropout": [0.0, 0.3], "head__l1_lambda": [0.0, 1e-5]}
    search = GridSearchCV(pipe, grid, cv=5, scoring="neg_mean_absolute_error",
                          error_score="raise").fit(paths[:40], ages[:40])
    assert len(search.cv_results_["params"]) == 16
    # 16 candidates x 5 folds, yet each fold's train and test part is embedded once,
    # plus the refit on all faces.
    assert sum(calls) == 5 * 40 + 40
    assert search.predict(paths[40:44]).shape == (4,)


def test_transform_before_fit_is_a_not_fitted_error(small_faces):
    with pytest.raises(NotFittedError):
        FaceEmbedder(img_size=32).transform(small_faces[0][:2])


def test_the_cache_tells_different_weights_apart(small_faces, tmp_path):
    """Two randomly initialised backbones must not share cached embeddings."""
    paths = small_faces[0][:4]
    cache = str(tmp_path / "cache")
    first = FaceEmbedder("simple_cnn", img_size=32, memory=cache).fit(paths)
    second = FaceEmbedder("simple_cnn", img_size=32, memory=cache).fit(paths)
    assert first.weights_digest_ != second.weights_digest_
    assert not np.allclose(first.transform(paths), second.transform(paths))
