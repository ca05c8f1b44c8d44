"""AgeGenderEstimator: age in years and gender from one network with two heads."""

from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import mean_absolute_error
from skorch.callbacks import PassthroughScoring
from sklearn.utils._param_validation import StrOptions

from ..nets import DEFAULT_BACKBONE, ProbabilityOutput
from ..outputs import AgeGenderOutputs
from ..ranges import PRESETS, AgeRanges
from ..targets import AGE_GENDER_COLUMNS, check_labels, split_age_gender
from ..training import AgeGenderLoss
from ._base import (
    AGE_HEAD_CONSTRAINTS,
    LABEL_SMOOTHING,
    _AgeOutputMixin,
    _FaceEstimator,
    continued_labels,
    store_params,
)
from ._docs import shared_docs


@shared_docs
class AgeGenderEstimator(AgeGenderOutputs, _AgeOutputMixin, _FaceEstimator):
    """Age in years and gender from one network: a shared backbone with two heads.

    The age head is trained like :class:`AgeRegressor` (by default a label distribution
    over the years), the gender head like :class:`GenderClassifier` (cross-entropy);
    the loss is their sum
    weighted by ``loss_weights``. Early stopping watches that combined loss;
    ``balance`` evens out age ranges. The history also records the loss of each head
    (``train_age_loss``, ``train_gender_loss`` and, with early stopping, the
    ``valid_`` ones).

    Parameters
    ----------
    loss_weights : dict or None, default=None
        Weights of the ``"age"`` and ``"gender"`` losses; missing keys keep their
        defaults, ``{"age": 1.0, "gender": 0.5}``. The age loss is in units of the
        standard deviation of the training ages (whichever ``age_loss``), the gender
        loss a two-class cross-entropy; halving the gender loss keeps age the main task
        (the measurements behind the default are on the performance page of the user
        guide).
    label_smoothing : float in [0, 1), default=0.0
        Label smoothing of the gender cross-entropy, as in
        ``torch.nn.CrossEntropyLoss``.
    age_loss : {"label_distribution", "absolute_error"}, default="label_distribution"
        The loss of the age head, as in :class:`AgeRegressor`.
    age_spread, age_spread_per_year : float, default=1.0, 0.075
        The label distribution's standard deviation at age 0 and its growth per year
        of age, as in :class:`AgeRegressor`.
    ranges : str or sequence of int, default="life_stages"
        Age ranges (a preset or lower bounds, see :class:`~sklearn_age.AgeRanges`)
        that ``balance`` evens out.
%(shared_parameters)s

    Attributes
    ----------
    gender_classes_ : ndarray of shape (2,)
        The two gender labels, as given in ``y``.
    loss_weights_ : dict
        The loss weights in use.
    y_mean_, y_scale_ : float
        Weighted mean and standard deviation of the training ages (used to
        standardize them).
%(shared_attributes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_age import AgeGenderEstimator, load_utkface
    >>> faces = load_utkface("UTKFace")  # doctest: +SKIP
    >>> Y = np.column_stack([faces.age, faces.gender])  # doctest: +SKIP
    >>> both = AgeGenderEstimator().fit(faces.paths, Y)  # doctest: +SKIP
    >>> both.predict(["me.jpg"])  # doctest: +SKIP
    array([[31.4,  1. ]])
    """

    _parameter_constraints = {
        **_FaceEstimator._parameter_constraints,
        "ranges": [StrOptions(set(PRESETS)), "array-like"],
        "loss_weights": [dict, None],
        "label_smoothing": LABEL_SMOOTHING,
        **AGE_HEAD_CONSTRAINTS,
    }

    #: Loss weights when ``loss_weights`` leaves them out.
    DEFAULT_LOSS_WEIGHTS = {"age": 1.0, "gender": 0.5}

    def __init__(self, *, loss_weights=None, label_smoothing=0.0,
                 age_loss="label_distribution", age_spread=1.0,
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
        """Train on faces, their ages and their genders.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
            As in :meth:`AgeRegressor.fit`.
        y : array-like of shape (n, 2) or DataFrame
            Age in years, then gender (two labels); or a DataFrame with the columns
            ``age`` and ``gender``. Named ``y`` as in every scikit-learn estimator,
            multi-output ones included.
        sample_weight : array-like of shape (n,), default=None
            Weight of each face in both losses.

        Returns
        -------
        self : AgeGenderEstimator
        """
        self.loss_weights_ = check_loss_weights(self.loss_weights, self.DEFAULT_LOSS_WEIGHTS)
        return self._fit_net(X, y, sample_weight)

    def _encode_targets(self, Y, sample_weight):
        ages, gender = split_age_gender(Y)
        gender_classes, gender_index = np.unique(
            check_labels(gender, name="gender", n_classes=2), return_inverse=True
        )
        if self._continuing():
            gender_index = continued_labels(
                self.gender_classes_, gender_classes[gender_index], "gender_classes_"
            )
        else:
            self.gender_classes_ = gender_classes
        standardized = self._standardize_ages(ages, sample_weight)
        return np.column_stack([standardized, gender_index]).astype(np.float32)

    def _n_outputs(self):
        return self._n_age_outputs() + 2  # the age head's outputs, then two gender logits

    def _output_layers(self):
        return {"age": self._age_output(),
                "proba": ProbabilityOutput(start=self._n_age_outputs())}

    def _make_criterion(self):
        return AgeGenderLoss(self._age_loss(), self.loss_weights_["age"],
                             self.loss_weights_["gender"], label_smoothing=self.label_smoothing)

    def _callbacks(self):
        sets = ("train", "valid") if self.early_stopping else ("train",)
        return [
            (f"{subset}_{head}_loss",
             PassthroughScoring(f"{subset}_{head}_loss", on_train=subset == "train"))
            for subset in sets for head in AGE_GENDER_COLUMNS
        ] + super()._callbacks()

    def _balance_groups(self, Y, targets):
        """Age range of each training age: what ``balance`` evens out."""
        return AgeRanges(self.ranges).bin_index(split_age_gender(Y)[0])

    def score(self, X, y, sample_weight=None):
        """Negated mean absolute error of the ages (greater is better).

        Use :func:`~sklearn_age.metrics.make_age_gender_scorers` to score gender too.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
        y : array-like of shape (n, 2) or DataFrame
        sample_weight : array-like of shape (n,), default=None

        Returns
        -------
        score : float
        """
        ages, _ = split_age_gender(y)
        return -mean_absolute_error(ages, self.predict_age(X), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.target_tags.positive_only = True  # the age column: negative years are refused
        return tags


def check_loss_weights(loss_weights, defaults):
    """``defaults`` updated by ``loss_weights``; unknown keys and bad weights are errors."""
    weights = dict(defaults)
    for key, value in (loss_weights or {}).items():
        if key not in weights:
            raise ValueError(
                f"loss_weights has an unknown key {key!r}; the keys are {sorted(weights)}."
            )
        if not (isinstance(value, Real) and np.isfinite(value) and value >= 0):
            raise ValueError(
                f"loss_weights[{key!r}] must be a finite number >= 0; got {value!r}."
            )
        weights[key] = float(value)
    if not any(weights.values()):
        raise ValueError(f"loss_weights are all zero: {weights}; nothing would be learned.")
    return weights
