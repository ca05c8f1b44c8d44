"""The age head: a label distribution over the years (the default) or one standardized
output with the L1 loss (``age_loss``), on real faces in tiny settings."""

import numpy as np
import pytest
import torch

from sklearn_age import AgeGenderEstimator, AgeRegressor, ImageLoader
from sklearn_age.nets import ExpectedAgeOutput
from sklearn_age.training import AbsoluteAgeLoss, AgeDistributionLoss
from tests.conftest import TINY

YEARS = np.arange(121.0)


@pytest.fixture(scope="module")
def images(small_faces):
    return ImageLoader(size=TINY["img_size"]).fit_transform(small_faces[0])


def _normal_logits(age, sigma):
    return torch.tensor(-0.5 * ((YEARS - age) / sigma) ** 2)[None]


def test_expected_age_output_is_the_mean_of_the_softmax():
    logits = torch.zeros(3, 125)
    logits[0, 30] = 50.0  # all mass on year 30
    logits[2, 120] = logits[2, 0] = 50.0  # half on 0, half on 120
    logits[:, 121:] = 99.0  # columns after the age head are not read
    np.testing.assert_allclose(ExpectedAgeOutput()(logits).numpy(), [30.0, 60.0, 60.0])


@pytest.mark.parametrize("sigma, per_year", [(1.0, 0.075), (2.0, 0.0)])
def test_distribution_loss_matches_its_definition(sigma, per_year):
    mean, scale = 30.0, 20.0
    logits = torch.randn(4, 121, generator=torch.Generator().manual_seed(0)) * 3
    ages = np.array([0.0, 7.0, 42.5, 120.0])
    loss = AgeDistributionLoss(mean, scale, sigma, per_year)(
        logits, torch.tensor((ages - mean) / scale))
    p = torch.softmax(logits.double(), dim=1).numpy()
    for row, age in enumerate(ages):
        q = np.exp(-0.5 * ((YEARS - age) / (sigma + per_year * age)) ** 2)
        q /= q.sum()
        divergence = np.sum(q * (np.log(q + 1e-300) - np.log(p[row])), where=q > 0)
        expected = np.sum(p[row] * YEARS)
        assert loss[row].item() == pytest.approx((divergence + abs(expected - age)) / scale,
                                                 rel=1e-4)


def test_distribution_loss_is_near_zero_at_the_label_distribution():
    widening = AgeDistributionLoss(30.0, 20.0, 1.0, 0.075)
    target = torch.tensor([(42.0 - 30.0) / 20.0])
    loss = widening(_normal_logits(42.0, 1.0 + 0.075 * 42.0).float(), target)
    assert loss.item() == pytest.approx(0.0, abs=1e-4)
    wider = widening(_normal_logits(42.0, 9.0).float(), target)
    assert wider.item() > 0.01


def test_absolute_loss_reads_output_zero():
    loss = AbsoluteAgeLoss()(torch.tensor([[0.5], [-1.0]]), torch.tensor([1.0, 1.0]))
    np.testing.assert_allclose(loss.numpy(), [0.5, 2.0])


@pytest.mark.parametrize("age_loss, outputs", [("label_distribution", 121),
                                              ("absolute_error", 1)])
def test_age_loss_sets_the_head_of_both_age_estimators(age_loss, outputs, images, small_faces):
    ages = small_faces[1]
    regressor = AgeRegressor(**TINY, age_loss=age_loss).fit(images, ages)
    assert regressor.net_.module_.head[-1].out_features == outputs
    both = AgeGenderEstimator(**TINY, age_loss=age_loss).fit(
        images, np.column_stack([ages, ages >= 30]))
    assert both.net_.module_.head[-1].out_features == outputs + 2
    for predicted in (regressor.predict(images), both.predict_age(images)):
        assert predicted.shape == (len(images),)
        assert np.all((predicted >= 0) & (predicted <= 120))
    proba = both.predict_gender_proba(images)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_distribution_head_starts_at_the_training_ages(images, small_faces):
    """Before any step, the expected age is near the mean training age, as the L1 head's
    standardized output is (not the middle of 0-120)."""
    young = small_faces[1] * 0.2 + 1.0  # ages 1-24: far from 60
    model = AgeRegressor(**TINY, lr=1e-12).fit(images, young)
    assert np.abs(model.predict(images) - young.mean()).max() < 0.5 * young.std()


def test_bad_age_loss_is_refused(images, small_faces):
    with pytest.raises(ValueError, match="'age_loss' parameter"):
        AgeRegressor(**TINY, age_loss="l2").fit(images, small_faces[1])


def test_age_spread_reaches_the_loss_of_both_age_estimators(images, small_faces):
    ages = small_faces[1]
    fixed = {"age_spread": 2.0, "age_spread_per_year": 0.0}
    regressor = AgeRegressor(**TINY, **fixed).fit(images, ages)
    both = AgeGenderEstimator(**TINY, **fixed).fit(images, np.column_stack([ages, ages >= 30]))
    for loss in (regressor.net_.criterion_, both.net_.criterion_.age_loss):
        assert (loss.sigma, loss.sigma_per_year) == (2.0, 0.0)
    default = AgeRegressor(**TINY).fit(images, ages).net_.criterion_
    assert (default.sigma, default.sigma_per_year) == (1.0, 0.075)


@pytest.mark.parametrize("param, value", [("age_spread", 0.0), ("age_spread_per_year", -0.1)])
def test_bad_age_spread_is_refused(param, value, images, small_faces):
    with pytest.raises(ValueError, match=f"'{param}' parameter"):
        AgeRegressor(**TINY, **{param: value}).fit(images, small_faces[1])
