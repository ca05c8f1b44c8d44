"""scikit-learn estimators for faces: ``AgeRegressor`` and ``AgeClassifier``.

Both are thin facades over one shared base that validates the data, builds the torch
module and the skorch net in ``fit``, and runs prediction in batches.
"""

from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import ValidSplit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .images import check_images, check_paths, is_path_list
from .nets import DEFAULT_BACKBONE, FaceModel, ImageNormalizer, create_backbone
from .ranges import AgeRanges, PRESETS
from .training import (
    BatchAugmenter,
    FaceDataset,
    FaceNet,
    WarmupCosineSchedule,
    balancing_weights,
)

#: Predicted ages are clipped to this interval, in years.
AGE_LIMITS = (0.0, 120.0)


class _FaceEstimator(BaseEstimator):
    """Shared machinery: parameters, input checks, skorch construction, batched inference.

    Subclasses define ``_encode_targets(y, sample_weight)`` (returning the training targets and the
    number of network outputs) and ``_make_criterion()``.
    """

    _parameter_constraints = {
        "backbone": [str, None],
        "pretrained": ["boolean", str],
        "img_size": [Interval(Integral, 16, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l1_lambda": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "augment": ["boolean"],
        "flip_test": ["boolean"],
        "early_stopping": ["boolean"],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "ranges": [StrOptions(set(PRESETS)), "array-like", None],
        "balance": [StrOptions({"reweight", "resample"}), None],
        "balance_power": [Interval(Real, 0, 1, closed="both")],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        backbone=DEFAULT_BACKBONE,
        pretrained=True,
        img_size=112,
        lr=2e-3,
        weight_decay=0.05,
        dropout=0.2,
        l1_lambda=0.0,
        max_epochs=16,
        batch_size=64,
        augment=True,
        flip_test=True,
        early_stopping=False,
        patience=3,
        validation_fraction=0.1,
        ranges="life_stages",
        balance=None,
        balance_power=1.0,
        callbacks=None,
        random_state=None,
        device="cpu",
        verbose=0,
    ):
        self.backbone = backbone
        self.pretrained = pretrained
        self.img_size = img_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.l1_lambda = l1_lambda
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.augment = augment
        self.flip_test = flip_test
        self.early_stopping = early_stopping
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.ranges = ranges
        self.balance = balance
        self.balance_power = balance_power
        self.callbacks = callbacks
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # -- input -----------------------------------------------------------------------
    def _check_X(self, X, reset):
        """Paths (object array), ``uint8`` images, or a float feature matrix."""
        if self.backbone is None:
            return validate_data(self, X, reset=reset, dtype=np.float32)
        if hasattr(X, "__len__") and len(X) == 0:
            raise ValueError("Found array with 0 sample(s): X is empty.")
        if is_path_list(X) or isinstance(X, str):
            return check_paths(X)
        return check_images(X)

    def _dataset(self, X, y=None, sample_weight=None, groups=None):
        img_size = None if self.backbone is None else self.img_size
        return FaceDataset(X, y, sample_weight, img_size, groups)

    def _extra_weights(self, targets, groups):
        """Loss weights from ``balance="reweight"`` (inverse to age-range frequency)."""
        if self.balance == "reweight":
            return balancing_weights(groups, self.balance_power)
        return np.float32(1.0)

    # -- training --------------------------------------------------------------------
    def _build_module(self, n_outputs):
        if self.backbone is None:
            return FaceModel(None, n_outputs, self.dropout, n_features=self.n_features_in_)
        backbone, mean, std = create_backbone(self.backbone, self.pretrained)
        return FaceModel(
            backbone.to(memory_format=torch.channels_last),
            n_outputs,
            self.dropout,
            normalizer=ImageNormalizer(mean, std),
            augmenter=BatchAugmenter() if self.augment else None,
            flip_average=self.flip_test,
        )

    def _callbacks(self):
        callbacks = [("lr_schedule", WarmupCosineSchedule())]
        if self.early_stopping:
            callbacks.append(
                ("early_stopping",
                 EarlyStopping(monitor="valid_loss", patience=self.patience, load_best=True))
            )
        if self.verbose >= 2:
            callbacks.append(("progress", ProgressBar()))
        return callbacks + list(self.callbacks or [])

    def _build_net(self, n_outputs, seed):
        split = (
            ValidSplit(self.validation_fraction, stratified=False, random_state=seed)
            if self.early_stopping else None
        )
        return FaceNet(
            self._build_module(n_outputs),
            criterion=self._make_criterion(),
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            train_split=split,
            callbacks=self._callbacks(),
            device=self.device,
            verbose=int(self.verbose),
            l1_lambda=self.l1_lambda,
            resample=self.balance == "resample",
            balance_power=self.balance_power,
        )

    def _fit_net(self, X, y, sample_weight):
        X = self._check_X(X, reset=True)
        check_consistent_length(X, _require_y(self, y))
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float32)
        targets, n_outputs = self._encode_targets(y, sample_weight)
        groups = self._balance_groups(y, targets)
        sample_weight = sample_weight * self._extra_weights(targets, groups)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net_ = self._build_net(n_outputs, seed)
            self.net_.fit(self._dataset(X, targets, sample_weight, groups), y=None)
        self.n_epochs_ = len(self.net_.history)
        return self

    # -- inference -------------------------------------------------------------------
    def _forward(self, X):
        """Network outputs for ``X`` as a float numpy array ``(n, n_outputs)``."""
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        return self.net_.forward(self._dataset(X)).numpy()

    @property
    def history_(self):
        """skorch's training history (losses and timings per epoch and batch)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        if self.backbone is not None:
            tags.input_tags.two_d_array = False
            tags.input_tags.string = True
        return tags


class AgeRegressor(RegressorMixin, _FaceEstimator):
    """Estimate age in years from face photos with a fine-tuned CNN.

    A timm backbone (by default EfficientNet-Lite0 with ImageNet weights that ship with
    the package, so it works offline) and a linear head, trained by skorch with AdamW,
    a warm-up then cosine learning-rate schedule, and train-only augmentation.
    Targets are standardized for training; predictions are years in 0-120.

    Parameters
    ----------
    backbone : str or None, default="tf_efficientnet_lite0"
        A timm model name, ``"simple_cnn"`` (small CNN trained from scratch) or ``None``
        (``X`` is a 2-D feature matrix and the net is only the head).
    pretrained : bool or str, default=True
        Start from ImageNet weights (offline for the default backbone, timm's hub for
        others), from a weights file (a path), or from random weights (``False``).
    img_size : int, default=112
        Side of the square images the network sees; other sizes are resized.
    lr : float, default=2e-3
        Peak learning rate of AdamW.
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay.
    dropout : float, default=0.2
        Dropout before the linear head.
    l1_lambda : float, default=0.0
        Strength of an L1 penalty on all weights, added to the training loss.
    max_epochs : int, default=16
        Passes over the training data.
    batch_size : int, default=64
        Images per training and prediction batch.
    augment : bool, default=True
        Random flips, rotations up to 15 degrees, crops and colour jitter in training.
    flip_test : bool, default=True
        Average each prediction with that of the mirrored image.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its loss has not
        improved for ``patience`` epochs and restore the best epoch's weights.
    patience : int, default=3
        Epochs without improvement before early stopping.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    ranges : str or sequence of int, default="life_stages"
        Age ranges (a preset or lower bounds, see :class:`~sklearn_age.AgeRanges`)
        that ``balance`` evens out.
    balance : {"reweight", "resample"} or None, default=None
        Counter age imbalance: ``"reweight"`` weights each face in the loss inversely
        to the frequency of its age range; ``"resample"`` draws training batches
        with a weighted sampler so that every range is seen equally often.
    balance_power : float in [0, 1], default=1.0
        How far ``balance`` evens the ranges out: the weights are the inverse range
        frequencies raised to this power (1: fully; 0.5: square root, milder).
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Added to the net's own (learning-rate schedule, early stopping, progress).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, augmentation and dropout; an int makes
        two fits on the CPU identical.
    device : str, default="cpu"
        Torch device, such as ``"cpu"`` or ``"cuda"``.
    verbose : int, default=0
        1 prints a line per epoch; 2 adds a progress bar per epoch.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network; ``net_.history`` holds the losses per epoch.
    history_ : skorch.History
        Shortcut for ``net_.history``.
    n_epochs_ : int
        Epochs actually trained.
    y_mean_, y_scale_ : float
        Weighted mean and standard deviation of the training ages (used to
        standardize them).
    n_features_in_ : int
        Width of ``X`` (only when ``backbone=None``).

    Examples
    --------
    >>> from sklearn_age import AgeRegressor, load_utkface
    >>> faces = load_utkface("UTKFace")  # doctest: +SKIP
    >>> reg = AgeRegressor(max_epochs=6).fit(faces.paths, faces.age)  # doctest: +SKIP
    >>> reg.predict(["me.jpg"])  # doctest: +SKIP
    array([31.4])
    """

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
        y = _check_ages(column_or_1d(y, dtype=np.float64, warn=True))
        self.y_mean_ = float(np.average(y, weights=sample_weight))
        self.y_scale_ = float(np.sqrt(np.average((y - self.y_mean_) ** 2,
                                                 weights=sample_weight))) or 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32), 1

    def _make_criterion(self):
        return torch.nn.L1Loss(reduction="none")

    def _balance_groups(self, y, targets):
        """Age range of each training age: what ``balance`` evens out."""
        return AgeRanges(self.ranges).bin_index(np.asarray(y, dtype=np.float64))

    def predict(self, X):
        """Predict ages in years.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
            As in :meth:`fit`.

        Returns
        -------
        ages : ndarray of shape (n,)
            Years, clipped to 0-120.
        """
        raw = self._forward(X)[:, 0].astype(np.float64)
        return np.clip(raw * self.y_scale_ + self.y_mean_, *AGE_LIMITS)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class AgeClassifier(ClassifierMixin, _FaceEstimator):
    """Predict age ranges (or any face labels) from face photos with a fine-tuned CNN.

    Takes every parameter of :class:`AgeRegressor`, plus:

    Parameters
    ----------
    ranges : str, sequence of int or None, default="life_stages"
        Age ranges: a preset (``"life_stages"``: 0-5, 6-18, 19-30, 31-45, 46-65, 66+;
        ``"fine"``: 14 ranges from 1-2 to 81+) or lower bounds such as
        ``[0, 13, 20, 65]``. ``y`` may then hold ages (binned for you) or range labels
        such as ``"19-30"``. ``None`` takes ``y`` as class labels as they are.
        ``balance`` evens out these classes.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss; ``"balanced"`` is inverse to frequency.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen in training (range labels in age order, when ``ranges`` is set).
    ranges_ : AgeRanges or None
        The age ranges in use.
    net_, history_, n_epochs_, n_features_in_
        As in :class:`AgeRegressor`.

    Examples
    --------
    >>> from sklearn_age import AgeClassifier
    >>> clf = AgeClassifier(ranges="life_stages", max_epochs=4)  # doctest: +SKIP
    >>> clf.fit(faces.paths, faces.age).predict(["me.jpg"])  # doctest: +SKIP
    array(['31-45'], dtype='<U5')
    """

    _parameter_constraints = {
        **_FaceEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, ranges="life_stages", class_weight=None,
                 backbone=DEFAULT_BACKBONE, pretrained=True, img_size=112, lr=2e-3,
                 weight_decay=0.05, dropout=0.2, l1_lambda=0.0, max_epochs=16,
                 batch_size=64, augment=True, flip_test=True, early_stopping=False,
                 patience=3, validation_fraction=0.1, balance=None, balance_power=1.0,
                 callbacks=None, random_state=None, device="cpu", verbose=0):
        super().__init__(
            backbone=backbone, pretrained=pretrained, img_size=img_size, lr=lr,
            weight_decay=weight_decay, dropout=dropout, l1_lambda=l1_lambda,
            max_epochs=max_epochs, batch_size=batch_size, augment=augment,
            flip_test=flip_test, early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, ranges=ranges, balance=balance,
            balance_power=balance_power, callbacks=callbacks, random_state=random_state,
            device=device, verbose=verbose,
        )
        self.class_weight = class_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on faces and their ages or labels.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
            As in :meth:`AgeRegressor.fit`.
        y : array-like of shape (n,)
            Ages in years or range labels (with ``ranges``), or class labels.
        sample_weight : array-like of shape (n,), default=None
            Weight of each face in the loss.

        Returns
        -------
        self : AgeClassifier
        """
        return self._fit_net(X, y, sample_weight)

    def _encode_targets(self, y, sample_weight):
        y = column_or_1d(y, warn=True)
        if self.ranges is None:
            self.ranges_ = None
            check_classification_targets(y)
            self.classes_, encoded = np.unique(y, return_inverse=True)
        else:
            self.ranges_ = AgeRanges(self.ranges)
            if np.asarray(y).dtype.kind in "iuf":
                y = _check_ages(np.asarray(y, dtype=np.float64))
            index = self.ranges_.to_index(y)
            present, encoded = np.unique(index, return_inverse=True)
            self.classes_ = self.ranges_.labels[present]
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes in y; found "
                f"{len(self.classes_)} class: {self.classes_.tolist()}."
            )
        return encoded.astype(np.int64), len(self.classes_)

    def _make_criterion(self):
        return torch.nn.CrossEntropyLoss(reduction="none")

    def _balance_groups(self, y, targets):
        """Class of each training face: what ``balance`` evens out."""
        return targets

    def _extra_weights(self, targets, groups):
        weights = super()._extra_weights(targets, groups)
        if self.class_weight is not None:
            weights = weights * compute_sample_weight(self.class_weight, targets)
        return np.asarray(weights, dtype=np.float32)

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        proba : ndarray of shape (n, n_classes)
            Columns follow ``classes_``.
        """
        logits = torch.from_numpy(self._forward(X))
        return torch.softmax(logits.double(), dim=1).numpy()

    def predict(self, X):
        """Predict the class (age range) of each face.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        labels : ndarray of shape (n,)
        """
        logits = self._forward(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


def _require_y(estimator, y):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    return y


def _check_ages(y):
    """Ages must be finite and non-negative; the error names the first bad row."""
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0))
    if len(bad):
        row = bad[0]
        raise ValueError(
            f"Ages must be finite, non-negative years; y[{row}] = {float(y[row])} "
            f"({len(bad)} bad value(s) in all)."
        )
    return y
