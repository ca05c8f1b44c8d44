"""AgeRegressor: age in years."""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import column_or_1d

from ..nets import DEFAULT_BACKBONE
from ..outputs import RegressorOutputs
from ..ranges import PRESETS, AgeRanges
from ..targets import check_ages
from ._base import AGE_HEAD_CONSTRAINTS, _AgeOutputMixin, _FaceEstimator, store_params
from ._docs import shared_docs


@shared_docs
class AgeRegressor(RegressorOutputs, _AgeOutputMixin, RegressorMixin, _FaceEstimator):
    """Estimate age in years from face photos with a fine-tuned CNN.

    A timm backbone (by default EfficientNet-Lite0 with ImageNet weights that ship with
    the package, so it works offline) and a linear head, trained by skorch with AdamW,
    a warm-up then cosine learning-rate schedule, and train-only augmentation.
    By default the head gives one logit for each year 0-120 and predicts the expected
    age under their softmax (DLDL-v2); predictions are years in 0-120.

    Parameters
    ----------
    age_loss : {"label_distribution", "absolute_error"}, default="label_distribution"
        ``"label_distribution"``: the head's softmax over the years learns a normal
        distribution around each true age (standard deviation ``age_spread`` plus
        ``age_spread_per_year`` per year of age: by default 2.5 years at 20, 4 at 40),
        and its expected age learns the true age (Kullback-Leibler divergence plus absolute
        error). ``"absolute_error"``: one output, the L1 loss on standardized ages
        (the earlier default; 0.13 years worse on the core benchmark over two seeds,
        see the performance page of the user guide).
    age_spread : float > 0, default=1.0
        Standard deviation in years of the label distribution at age 0
        (``"label_distribution"`` only).
    age_spread_per_year : float >= 0, default=0.075
        Its growth per year of age. ``age_spread=2.0, age_spread_per_year=0.0`` is the
        fixed spread of 2 years that came before (and that the shipped model was
        trained with).
    ranges : str or sequence of int, default="life_stages"
        Age ranges (a preset or lower bounds, see :class:`~sklearn_age.AgeRanges`)
        that ``balance`` evens out.
%(shared_parameters)s

    Attributes
    ----------
    y_mean_, y_scale_ : float
        Weighted mean and standard deviation of the training ages (used to
        standardize them).
%(shared_attributes)s

    Examples
    --------
    >>> from sklearn_age import AgeRegressor, load_utkface
    >>> faces = load_utkface("UTKFace")  # doctest: +SKIP
    >>> reg = AgeRegressor(max_epochs=6).fit(faces.paths, faces.age)  # doctest: +SKIP
    >>> reg.predict(["me.jpg"])  # doctest: +SKIP
    array([31.4])
    """

    _parameter_constraints = {
        **_FaceEstimator._parameter_constraints,
        **AGE_HEAD_CONSTRAINTS,
        "ranges": [StrOptions(set(PRESETS)), "array-like"],
    }

    def __init__(self, *, age_loss="label_distribution", age_spread=1.0,
                 age_spread_per_year=0.075, ranges="life_stages",
                 backbone=DEFAULT_BACKBONE, pretrained=True, img_size=112, lr=2e-3,
                 weight_decay=0.05, dropout=0.2, l1_lambda=0.0, max_epochs=16,
                 batch_size=64, augment=True, flip_test=False, early_stopping=False,
                 patience=3, validation_fraction=0.1, balance=None, balance_power=1.0,
                 callbacks=None, random_state=None, device="cpu", engine="auto", verbose=0,
                 checkpoint_dir=None, warm_start=False):
        store_params(self, locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on faces and their ages.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
            Image paths (decoded per batch), ``uint8`` images, or features when
            ``backbone=None``.
        y : array-like of shape (n,)
            Ages in years: finite and non-negative.
        sample_weight : array-like of shape (n,), default=None
            Weight of each face in the loss.

        Returns
        -------
        self : AgeRegressor
        """
        return self._fit_net(X, y, sample_weight)

    def _encode_targets(self, y, sample_weight):
        y = check_ages(column_or_1d(y, dtype=np.float64, warn=True))
        return self._standardize_ages(y, sample_weight)

    def _n_outputs(self):
        return self._n_age_outputs()

    def _output_layers(self):
        return {"age": self._age_output()}

    def _make_criterion(self):
        return self._age_loss()

    def _balance_groups(self, y, targets):
        """Age range of each training age: what ``balance`` evens out."""
        return AgeRanges(self.ranges).bin_index(np.asarray(y, dtype=np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.positive_only = True  # ages: negative years are refused
        return tags
