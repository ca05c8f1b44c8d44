"""scikit-learn estimators for faces: age in years, age ranges, gender, or age and gender.

All are thin facades over one shared base that validates the data, builds the torch
module and the skorch net in ``fit``, and runs prediction in batches; the classifiers
share a second layer (labels, class weights, probabilities).
"""

import copy
import os
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, PassthroughScoring, ProgressBar
from skorch.dataset import ValidSplit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.metrics import accuracy_score, mean_absolute_error
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from .checkpoints import EpochCheckpoint, training_config
from .images import check_images, check_paths, is_path_list
from .nets import DEFAULT_BACKBONE, FaceModel, ImageNormalizer, create_backbone
from .ranges import AgeRanges, PRESETS
from .targets import (
    AGE_GENDER_COLUMNS,
    MAX_AGE,
    check_ages,
    check_labels,
    split_age_gender,
)
from .training import (
    AgeGenderLoss,
    BatchAugmenter,
    FaceDataset,
    FaceNet,
    WarmupCosineLR,
    balancing_weights,
    seeded_rng,
)

#: Predicted ages are clipped to this interval, in years.
AGE_LIMITS = (0.0, MAX_AGE)

#: Constraint of ``label_smoothing``, shared by every estimator with a cross-entropy.
_LABEL_SMOOTHING = [Interval(Real, 0, 1, closed="left")]


class _FaceEstimator(BaseEstimator):
    """Shared machinery: parameters, input checks, skorch construction, batched inference.

    Subclasses define ``_encode_targets(y, sample_weight)`` (returning the training targets and the
    number of network outputs), ``_balance_groups(y, targets)`` (what ``balance`` evens
    out) and ``_make_criterion()``.
    """

    _parameter_constraints = {
        "backbone": [str, None],
        "pretrained": ["boolean", str, os.PathLike],
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
        "balance": [StrOptions({"reweight", "resample"}), None],
        "balance_power": [Interval(Real, 0, 1, closed="both")],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
        "checkpoint_dir": [str, os.PathLike, None],
        "warm_start": ["boolean"],
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
        flip_test=False,
        early_stopping=False,
        patience=3,
        validation_fraction=0.1,
        balance=None,
        balance_power=1.0,
        callbacks=None,
        random_state=None,
        device="cpu",
        verbose=0,
        checkpoint_dir=None,
        warm_start=False,
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
        self.balance = balance
        self.balance_power = balance_power
        self.callbacks = callbacks
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.checkpoint_dir = checkpoint_dir
        self.warm_start = warm_start

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
        callbacks = [("lr_schedule", WarmupCosineLR())]
        if self.early_stopping:
            callbacks.append(
                ("early_stopping",
                 EarlyStopping(monitor="valid_loss", patience=self.patience, load_best=True))
            )
        if self.verbose >= 2:
            callbacks.append(("progress", ProgressBar()))
        return callbacks + list(self.callbacks or [])

    def _build_net(self, n_outputs, seed, checkpoint=None):
        """The skorch net, with ``checkpoint`` (an :class:`EpochCheckpoint`) last."""
        split = (
            ValidSplit(self.validation_fraction, stratified=False, random_state=seed)
            if self.early_stopping else None
        )
        callbacks = self._callbacks()
        if checkpoint is not None:
            callbacks.append(("epoch_checkpoint", checkpoint))
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
            callbacks=callbacks,
            device=self.device,
            verbose=int(self.verbose),
            l1_lambda=self.l1_lambda,
            resample=self.balance == "resample",
            balance_power=self.balance_power,
        )

    def _fit_net(self, X, y, sample_weight):
        X = self._check_X(X, reset=not self._continuing())
        check_consistent_length(X, _require_y(self, y))
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        targets, n_outputs = self._encode_targets(y, sample_weight)
        groups = self._balance_groups(y, targets)
        sample_weight = sample_weight * self._extra_weights(targets, groups)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        checkpoint = self._checkpoint(X, targets, sample_weight, seed)
        seed = seed if checkpoint is None else checkpoint.seed
        with seeded_rng(seed, self.device):
            net = self._build_net(n_outputs, seed, checkpoint).initialize()
            done = self._start(net, checkpoint)
            self.net_ = net  # set before training: callbacks may score the model per epoch
            net.partial_fit(self._dataset(X, targets, sample_weight, groups),
                            epochs=self.max_epochs - done)
        self.n_epochs_ = len(net.history)
        return self

    def _continuing(self):
        """Whether this fit continues the fitted network (``warm_start=True``)."""
        return self.warm_start and hasattr(self, "net_")

    def _checkpoint(self, X, targets, sample_weight, seed):
        """The callback that checkpoints every epoch in ``checkpoint_dir`` (None without)."""
        if self.checkpoint_dir is None:
            return None
        if self._continuing():
            raise ValueError(
                "warm_start=True continues the fitted network in memory; it cannot also "
                f"resume from checkpoint_dir={os.fspath(self.checkpoint_dir)!r}. Set "
                "checkpoint_dir=None to continue training, or warm_start=False to resume "
                "the fit that the folder holds."
            )
        config = training_config(self, X, targets, sample_weight)
        return EpochCheckpoint.open(self.checkpoint_dir, config, seed)

    def _start(self, net, checkpoint):
        """Load into the initialized ``net`` what this fit starts from; return its epochs.

        With ``warm_start``, the fitted network's weights and history (0 epochs of this
        fit done); with a checkpoint, its last finished epoch; else nothing.
        """
        if not self._continuing():
            return 0 if checkpoint is None else checkpoint.restore(net)
        try:
            net.module_.load_state_dict(self.net_.module_.state_dict())
        except RuntimeError as exc:
            raise ValueError(
                "warm_start=True cannot continue the fitted network: the current parameters "
                f"build another network ({exc}). Fit with warm_start=False."
            ) from exc
        net.history = copy.deepcopy(self.net_.history)
        return 0

    # -- inference -------------------------------------------------------------------
    def _forward(self, X):
        """Network outputs for ``X`` as a float numpy array ``(n, n_outputs)``."""
        check_is_fitted(self, "net_")
        X = self._check_X(X, reset=False)
        self.net_.module_.flip_average = self.flip_test and self.backbone is not None
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


class _AgeOutputMixin:
    """Standardized ages for training, and network outputs back to years."""

    def _standardize_ages(self, ages, sample_weight):
        """Set ``y_mean_`` and ``y_scale_`` (weighted) and return standardized float32 ages.

        A warm start keeps those of the fitted network, which learned on that scale.
        """
        if not self._continuing():
            self.y_mean_ = float(np.average(ages, weights=sample_weight))
            self.y_scale_ = float(np.sqrt(np.average((ages - self.y_mean_) ** 2,
                                                     weights=sample_weight))) or 1.0
        return ((ages - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _years(self, outputs):
        """Standardized network outputs back to years, clipped to 0-120."""
        return np.clip(outputs.astype(np.float64) * self.y_scale_ + self.y_mean_, *AGE_LIMITS)


class AgeRegressor(_AgeOutputMixin, RegressorMixin, _FaceEstimator):
    """Estimate age in years from face photos with a fine-tuned CNN.

    A timm backbone (by default EfficientNet-Lite0 with ImageNet weights that ship with
    the package, so it works offline) and a linear head, trained by skorch with AdamW,
    a warm-up then cosine learning-rate schedule, and train-only augmentation.
    Targets are standardized for training; predictions are years in 0-120.

    Parameters
    ----------
    ranges : str or sequence of int, default="life_stages"
        Age ranges (a preset or lower bounds, see :class:`~sklearn_age.AgeRanges`)
        that ``balance`` evens out.
    backbone : str or None, default="tf_efficientnet_lite0"
        A timm model name, ``"simple_cnn"`` (small CNN trained from scratch) or ``None``
        (``X`` is a 2-D feature matrix and the net is only the head).
    pretrained : bool, str or os.PathLike, default=True
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
    flip_test : bool, default=False
        Average each prediction with that of the mirrored image: slightly more
        accurate (MAE 4.35 instead of 4.44 years on the core benchmark), twice the
        prediction cost. Read at prediction time, so it can be switched on a fitted
        model with ``set_params``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its loss has not
        improved for ``patience`` epochs and restore the best epoch's weights.
    patience : int, default=3
        Epochs without improvement before early stopping.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
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
    checkpoint_dir : str, os.PathLike or None, default=None
        Folder where every finished epoch saves the whole training state (weights,
        optimizer, learning-rate schedule, history, random generator). A fit given a
        folder that holds a checkpoint resumes from its last finished epoch: on the CPU it
        ends as the uninterrupted fit would have. A finished fit is loaded, with no more
        epochs. A checkpoint of another fit (estimator, parameters other than
        ``callbacks``, ``device``, ``verbose``, ``warm_start``, or training data) or a
        damaged one is a ``ValueError``, never a silent restart: use one folder per fit.
    warm_start : bool, default=False
        When fitted already, continue from the fitted network's weights and history:
        ``fit`` trains ``max_epochs`` more epochs on the data it is given, with a fresh
        optimizer and learning-rate schedule. The targets keep the first fit's encoding
        (its ``y_mean_`` and ``y_scale_``; for classifiers, its ``classes_``, which new
        labels must be among).

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The trained network; ``net_.history`` holds the losses per epoch.
    history_ : skorch.History
        Shortcut for ``net_.history``.
    n_epochs_ : int
        Epochs trained, counting those of a resumed checkpoint and, with
        ``warm_start``, of the earlier fits.
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

    _parameter_constraints = {
        **_FaceEstimator._parameter_constraints,
        "ranges": [StrOptions(set(PRESETS)), "array-like"],
    }

    def __init__(self, *, ranges="life_stages", backbone=DEFAULT_BACKBONE, pretrained=True,
                 img_size=112, lr=2e-3, weight_decay=0.05, dropout=0.2, l1_lambda=0.0,
                 max_epochs=16, batch_size=64, augment=True, flip_test=False,
                 early_stopping=False, patience=3, validation_fraction=0.1, balance=None,
                 balance_power=1.0, callbacks=None, random_state=None, device="cpu",
                 verbose=0, checkpoint_dir=None, warm_start=False):
        super().__init__(
            backbone=backbone, pretrained=pretrained, img_size=img_size, lr=lr,
            weight_decay=weight_decay, dropout=dropout, l1_lambda=l1_lambda,
            max_epochs=max_epochs, batch_size=batch_size, augment=augment,
            flip_test=flip_test, early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, balance=balance,
            balance_power=balance_power, callbacks=callbacks, random_state=random_state,
            device=device, verbose=verbose, checkpoint_dir=checkpoint_dir,
            warm_start=warm_start,
        )
        self.ranges = ranges

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
        return self._standardize_ages(y, sample_weight), 1

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
        return self._years(self._forward(X)[:, 0])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.target_tags.positive_only = True  # ages: negative years are refused
        return tags


class _FaceClassifier(ClassifierMixin, _FaceEstimator):
    """Shared classifier machinery: labels, class weights, probabilities, predictions.

    Subclasses define ``_encode_labels(y)`` returning ``classes_`` and the index of
    each sample's class.
    """

    _parameter_constraints = {
        **_FaceEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": _LABEL_SMOOTHING,
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train on faces and their labels.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
            Image paths (decoded per batch), ``uint8`` images, or features when
            ``backbone=None``.
        y : array-like of shape (n,)
            Labels (for :class:`AgeClassifier`, also ages in years).
        sample_weight : array-like of shape (n,), default=None
            Weight of each face in the loss.

        Returns
        -------
        self : estimator
        """
        return self._fit_net(X, y, sample_weight)

    def _encode_targets(self, y, sample_weight):
        classes, encoded = self._encode_labels(column_or_1d(y, warn=True))
        if self._continuing():
            encoded = _continued_labels(self.classes_, classes[encoded], "classes_")
            return encoded, len(self.classes_)
        self.classes_ = classes
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes in y; found "
                f"{len(self.classes_)} class: {self.classes_.tolist()}."
            )
        return encoded.astype(np.int64), len(self.classes_)

    def _make_criterion(self):
        return torch.nn.CrossEntropyLoss(reduction="none", label_smoothing=self.label_smoothing)

    def _balance_groups(self, y, targets):
        """Class of each training face: what ``balance`` evens out."""
        return targets

    def _extra_weights(self, targets, groups):
        weights = super()._extra_weights(targets, groups)
        if self.class_weight is not None:
            weights = weights * compute_sample_weight(self.class_weight, self.classes_[targets])
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
        return _softmax(self._forward(X))

    def predict(self, X):
        """Predict the class of each face.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        labels : ndarray of shape (n,)
        """
        outputs = self._forward(X)
        return self.classes_[np.argmax(outputs, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class AgeClassifier(_FaceClassifier):
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
        Weights of the classes in the loss; ``"balanced"`` is inverse to frequency. A
        dict is keyed by the labels of ``classes_``: range labels such as ``"66+"``
        when ``ranges`` is set; classes it leaves out weigh 1.
    label_smoothing : float in [0, 1), default=0.0
        Share of each target spread evenly over the classes in the cross-entropy, as in
        ``torch.nn.CrossEntropyLoss``: it keeps the network from growing
        over-confident on the training faces.

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
        **_FaceClassifier._parameter_constraints,
        "ranges": [StrOptions(set(PRESETS)), "array-like", None],
    }

    def __init__(self, *, ranges="life_stages", class_weight=None, label_smoothing=0.0,
                 backbone=DEFAULT_BACKBONE, pretrained=True, img_size=112, lr=2e-3,
                 weight_decay=0.05, dropout=0.2, l1_lambda=0.0, max_epochs=16,
                 batch_size=64, augment=True, flip_test=False, early_stopping=False,
                 patience=3, validation_fraction=0.1, balance=None, balance_power=1.0,
                 callbacks=None, random_state=None, device="cpu", verbose=0,
                 checkpoint_dir=None, warm_start=False):
        super().__init__(
            backbone=backbone, pretrained=pretrained, img_size=img_size, lr=lr,
            weight_decay=weight_decay, dropout=dropout, l1_lambda=l1_lambda,
            max_epochs=max_epochs, batch_size=batch_size, augment=augment,
            flip_test=flip_test, early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, balance=balance,
            balance_power=balance_power, callbacks=callbacks, random_state=random_state,
            device=device, verbose=verbose, checkpoint_dir=checkpoint_dir,
            warm_start=warm_start,
        )
        self.ranges = ranges
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

    def score(self, X, y, sample_weight=None):
        """Accuracy of the predicted classes; ages in ``y`` are binned into ``ranges_``.

        So ``cross_val_score`` and the searches can score on ages, as ``fit`` takes them.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)
        y : array-like of shape (n,)
            Ages in years or labels, as in :meth:`fit`.
        sample_weight : array-like of shape (n,), default=None

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "net_")
        y = column_or_1d(y, warn=True)
        if self.ranges_ is not None and y.dtype.kind in "iuf":
            y = self.ranges_.bin(check_ages(y))
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    def _encode_labels(self, y):
        if self.ranges is None:
            self.ranges_ = None
            return np.unique(check_labels(y), return_inverse=True)
        self.ranges_ = AgeRanges(self.ranges)
        if y.dtype.kind in "iuf":
            y = check_ages(y)
        present, encoded = np.unique(self.ranges_.to_index(y), return_inverse=True)
        return self.ranges_.labels[present], encoded

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # With ranges, numeric targets are ages (binned): negative years are refused.
        tags.target_tags.positive_only = self.ranges is not None
        return tags


class GenderClassifier(_FaceClassifier):
    """Predict gender from face photos with a fine-tuned CNN.

    Takes every parameter of :class:`AgeRegressor` except ``ranges``, plus
    ``class_weight`` and ``label_smoothing``; ``balance`` evens out the two classes.

    Parameters
    ----------
    class_weight : dict, "balanced" or None, default=None
        Weights of the two classes in the loss, keyed by the labels of ``y`` (such as
        ``{"male": 1, "female": 2}``); ``"balanced"`` is inverse to frequency.
    label_smoothing : float in [0, 1), default=0.0
        Share of each target spread evenly over the classes in the cross-entropy, as in
        ``torch.nn.CrossEntropyLoss``: it keeps the network from growing
        over-confident on the training faces.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels, as given in ``y`` (UTKFace: 0 male, 1 female; strings work too).
    net_, history_, n_epochs_, n_features_in_
        As in :class:`AgeRegressor`.

    Examples
    --------
    >>> from sklearn_age import GenderClassifier, load_utkface
    >>> faces = load_utkface("UTKFace")  # doctest: +SKIP
    >>> clf = GenderClassifier().fit(faces.paths, faces.gender)  # doctest: +SKIP
    >>> clf.predict_proba(["me.jpg"])  # doctest: +SKIP
    array([[0.93, 0.07]])
    """

    def __init__(self, *, class_weight=None, label_smoothing=0.0, backbone=DEFAULT_BACKBONE,
                 pretrained=True, img_size=112, lr=2e-3, weight_decay=0.05, dropout=0.2,
                 l1_lambda=0.0, max_epochs=16, batch_size=64, augment=True, flip_test=False,
                 early_stopping=False, patience=3, validation_fraction=0.1, balance=None,
                 balance_power=1.0, callbacks=None, random_state=None, device="cpu",
                 verbose=0, checkpoint_dir=None, warm_start=False):
        super().__init__(
            backbone=backbone, pretrained=pretrained, img_size=img_size, lr=lr,
            weight_decay=weight_decay, dropout=dropout, l1_lambda=l1_lambda,
            max_epochs=max_epochs, batch_size=batch_size, augment=augment,
            flip_test=flip_test, early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, balance=balance,
            balance_power=balance_power, callbacks=callbacks, random_state=random_state,
            device=device, verbose=verbose, checkpoint_dir=checkpoint_dir,
            warm_start=warm_start,
        )
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing

    def _encode_labels(self, y):
        return np.unique(check_labels(y, n_classes=2), return_inverse=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # exactly two classes
        return tags


class AgeGenderEstimator(_AgeOutputMixin, _FaceEstimator):
    """Age in years and gender from one network: a shared backbone with two heads.

    The age head is trained like :class:`AgeRegressor` (L1 on standardized ages), the
    gender head like :class:`GenderClassifier` (cross-entropy); the loss is their sum
    weighted by ``loss_weights``. Early stopping watches that combined loss. Takes
    every parameter of :class:`AgeRegressor` (``balance`` evens out age ranges), plus:

    Parameters
    ----------
    loss_weights : dict or None, default=None
        Weights of the ``"age"`` and ``"gender"`` losses; missing keys keep their
        defaults, ``{"age": 1.0, "gender": 0.5}``. Both losses start near 0.7 (L1 on
        standardized ages, two-class cross-entropy); halving the gender loss keeps age
        the main task. Measured on the benchmark split, a gender weight of 2 was worse
        on both heads (3 epochs); at 16 epochs, 1 cost 0.3 years of age MAE, and 0.1
        (one seed) and 0.25 (three seeds paired with 0.5) moved both heads by no more
        than a change of seed does, so the default stays at 0.5 (see ``BENCHMARKS.md``).
    label_smoothing : float in [0, 1), default=0.0
        Label smoothing of the gender cross-entropy, as in
        ``torch.nn.CrossEntropyLoss``. On the benchmark split (16 epochs, two seeds),
        0.1 moved gender accuracy by +0.011 and -0.005, within the spread between
        seeds, so the default stays at 0 (see ``BENCHMARKS.md``).

    Attributes
    ----------
    gender_classes_ : ndarray of shape (2,)
        The two gender labels, as given in ``Y``.
    loss_weights_ : dict
        The loss weights in use.
    y_mean_, y_scale_, net_, history_, n_epochs_, n_features_in_
        As in :class:`AgeRegressor`. ``history_`` also records the loss of each head
        (``train_age_loss``, ``train_gender_loss`` and, with early stopping, the
        ``valid_`` ones).

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
        "label_smoothing": _LABEL_SMOOTHING,
    }

    #: Loss weights when ``loss_weights`` leaves them out.
    DEFAULT_LOSS_WEIGHTS = {"age": 1.0, "gender": 0.5}

    def __init__(self, *, loss_weights=None, label_smoothing=0.0, ranges="life_stages",
                 backbone=DEFAULT_BACKBONE, pretrained=True, img_size=112, lr=2e-3,
                 weight_decay=0.05, dropout=0.2, l1_lambda=0.0, max_epochs=16,
                 batch_size=64, augment=True, flip_test=False, early_stopping=False,
                 patience=3, validation_fraction=0.1, balance=None, balance_power=1.0,
                 callbacks=None, random_state=None, device="cpu", verbose=0,
                 checkpoint_dir=None, warm_start=False):
        super().__init__(
            backbone=backbone, pretrained=pretrained, img_size=img_size, lr=lr,
            weight_decay=weight_decay, dropout=dropout, l1_lambda=l1_lambda,
            max_epochs=max_epochs, batch_size=batch_size, augment=augment,
            flip_test=flip_test, early_stopping=early_stopping, patience=patience,
            validation_fraction=validation_fraction, balance=balance,
            balance_power=balance_power, callbacks=callbacks, random_state=random_state,
            device=device, verbose=verbose, checkpoint_dir=checkpoint_dir,
            warm_start=warm_start,
        )
        self.loss_weights = loss_weights
        self.label_smoothing = label_smoothing
        self.ranges = ranges

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
        self.loss_weights_ = _check_loss_weights(self.loss_weights, self.DEFAULT_LOSS_WEIGHTS)
        return self._fit_net(X, y, sample_weight)

    def _encode_targets(self, Y, sample_weight):
        ages, gender = split_age_gender(Y)
        gender_classes, gender_index = np.unique(
            check_labels(gender, name="gender", n_classes=2), return_inverse=True
        )
        if self._continuing():
            gender_index = _continued_labels(
                self.gender_classes_, gender_classes[gender_index], "gender_classes_"
            )
        else:
            self.gender_classes_ = gender_classes
        standardized = self._standardize_ages(ages, sample_weight)
        return np.column_stack([standardized, gender_index]).astype(np.float32), 3

    def _make_criterion(self):
        return AgeGenderLoss(self.loss_weights_["age"], self.loss_weights_["gender"],
                             label_smoothing=self.label_smoothing)

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

    def predict_age(self, X):
        """Predict ages in years (clipped to 0-120).

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        ages : ndarray of shape (n,)
        """
        return self._years(self._forward(X)[:, 0])

    def predict_gender_proba(self, X):
        """Probability of each gender.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        proba : ndarray of shape (n, 2)
            Columns follow ``gender_classes_``.
        """
        return _softmax(self._forward(X)[:, 1:])

    def predict_gender(self, X):
        """Predict the gender label of each face.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        labels : ndarray of shape (n,)
        """
        outputs = self._forward(X)
        return self.gender_classes_[np.argmax(outputs[:, 1:], axis=1)]

    def predict_age_and_gender_proba(self, X):
        """Ages and gender probabilities from one pass of the network.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        ages : ndarray of shape (n,)
            Years, clipped to 0-120.
        proba : ndarray of shape (n, 2)
            Columns follow ``gender_classes_``.
        """
        outputs = self._forward(X)
        return self._years(outputs[:, 0]), _softmax(outputs[:, 1:])

    def predict(self, X):
        """Predict age and gender with one pass of the network.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        Y : ndarray of shape (n, 2)
            Years, then the gender label; float when the labels are numbers,
            ``object`` otherwise.
        """
        ages, proba = self.predict_age_and_gender_proba(X)
        gender = self.gender_classes_[np.argmax(proba, axis=1)]
        dtype = np.float64 if gender.dtype.kind in "iuf" else object
        return np.column_stack([ages.astype(dtype), gender.astype(dtype)])

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


def _softmax(logits):
    return torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()


def _check_loss_weights(loss_weights, defaults):
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


def _continued_labels(fitted, labels, name):
    """Index of each label among the ``fitted`` classes (``name``) that a warm start keeps.

    Raises
    ------
    ValueError
        If a label is not among them: the network has no output for it.
    """
    position = {label: index for index, label in enumerate(fitted.tolist())}
    unseen = [label for label in dict.fromkeys(labels.tolist()) if label not in position]
    if unseen:
        raise ValueError(
            f"warm_start=True continues the fitted network, whose {name} are "
            f"{fitted.tolist()}; y holds other labels: {unseen}. Fit with warm_start=False "
            "to learn new classes."
        )
    return np.array([position[label] for label in labels.tolist()], dtype=np.int64)


def _require_y(estimator, y):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    return y
