"""Imbalance handling: reweighting, resampling, class weights, sample weights in pipelines."""

import numpy as np
import pytest
import sklearn
from sklearn.metrics import make_scorer, mean_absolute_error
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_age import AgeClassifier, AgeRegressor, ImageLoader
from tests.conftest import TINY


@pytest.fixture(scope="module")
def skewed():
    """Features and ages as skewed as the real faces: many toddlers, few elderly."""
    rng = np.random.RandomState(0)
    ages = np.r_[rng.uniform(1, 5, 80), rng.uniform(20, 30, 30), rng.uniform(70, 90, 10)]
    features = np.c_[ages / 50 + rng.normal(scale=0.1, size=120), rng.normal(size=(120, 3))]
    return features, ages


def test_reweight_gives_each_range_equal_total_weight(skewed):
    features, ages = skewed
    model = AgeRegressor(backbone=None, balance="reweight", max_epochs=1)
    groups = model._balance_groups(ages, None)
    weights = model._extra_weights(None, groups)
    totals = np.bincount(groups, weights=weights)
    present = totals[totals > 0]
    np.testing.assert_allclose(present, present[0])


def test_resample_draws_every_range_equally_often(skewed):
    features, ages = skewed
    model = AgeRegressor(backbone=None, balance="resample", max_epochs=1, batch_size=16,
                         random_state=0).fit(features, ages)
    dataset = model._dataset(features.astype(np.float32),
                             ((ages - model.y_mean_) / model.y_scale_).astype(np.float32),
                             None, model._balance_groups(ages, None))
    drawn = np.concatenate([
        target.numpy() for _ in range(30)
        for _, (target, _) in model.net_.get_iterator(dataset, training=True)
    ]) * model.y_scale_ + model.y_mean_
    share_elderly = np.mean(drawn > 60)
    assert np.mean(ages > 60) == pytest.approx(1 / 12)
    assert 0.28 < share_elderly < 0.39  # about a third: three ranges, equally likely


def test_balance_changes_what_is_learned_on_real_faces(small_faces):
    paths, ages = small_faces
    images = ImageLoader(size=32).fit_transform(paths)
    plain = AgeRegressor(**TINY).fit(images, ages).predict(images)
    for balance in ("reweight", "resample"):
        balanced = AgeRegressor(**TINY, balance=balance).fit(images, ages).predict(images)
        assert balanced.shape == plain.shape and not np.allclose(balanced, plain)


def test_classifier_balance_and_class_weight(small_faces):
    paths, ages = small_faces
    for kwargs in ({"balance": "resample"}, {"balance": "reweight"},
                   {"class_weight": "balanced"}):
        clf = AgeClassifier(**TINY, **kwargs).fit(paths[:30], ages[:30])
        assert clf.predict(paths[30:33]).shape == (3,)


def test_sample_weight_through_pipeline_and_grid_search(small_faces):
    paths, ages = small_faces
    weights = np.where(ages > 60, 3.0, 1.0)
    pipe = make_pipeline(ImageLoader(size=32), AgeRegressor(**TINY))
    pipe.fit(paths[:30], ages[:30], ageregressor__sample_weight=weights[:30])
    with sklearn.config_context(enable_metadata_routing=True):
        routed = make_pipeline(
            ImageLoader(size=32),
            AgeRegressor(**TINY).set_fit_request(sample_weight=True),
        )
        scorer = make_scorer(mean_absolute_error, greater_is_better=False)
        search = GridSearchCV(routed, {"ageregressor__dropout": [0.0, 0.3]}, cv=2,
                              scoring=scorer.set_score_request(sample_weight=True),
                              error_score="raise")
        search.fit(paths[:30], ages[:30], sample_weight=weights[:30])
    assert len(search.cv_results_["params"]) == 2


def test_balance_rejects_unknown_values(small_faces):
    with pytest.raises(ValueError, match="'balance' parameter"):
        AgeRegressor(**TINY, balance="oversample").fit(small_faces[0][:4], small_faces[1][:4])


def test_balance_power_tempers_the_reweighting(skewed):
    features, ages = skewed
    groups = AgeRegressor(backbone=None)._balance_groups(ages, None)
    full, mild, off = (
        AgeRegressor(backbone=None, balance="reweight", balance_power=power)
        ._extra_weights(None, groups) for power in (1.0, 0.5, 0.0)
    )
    np.testing.assert_allclose(mild, np.sqrt(full), rtol=1e-6)
    np.testing.assert_array_equal(off, 1.0)
    elderly, toddlers = ages > 60, ages < 6
    assert full[elderly][0] / full[toddlers][0] == pytest.approx(8.0)  # 80 vs 10 faces
    assert mild[elderly][0] / mild[toddlers][0] == pytest.approx(np.sqrt(8.0))
