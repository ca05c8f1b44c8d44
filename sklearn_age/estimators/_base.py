"""The shared base of the four estimators: parameters, input check, skorch construction,
prediction through the network's output layers, and the seam that model files use.
"""

import copy
import os
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.dataset import ValidSplit
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ..checkpoints import EpochCheckpoint, training_config
from ..images import check_photos
from ..inference import ENGINES, predict_outputs
from ..nets import (
    AgeOutput,
    ExpectedAgeOutput,
    FaceModel,
    ImageNormalizer,
    age_bins,
    create_backbone,
)
from ..pretrained import PRETRAINED_MODELS, pretrained_start
from ..training import (
    AbsoluteAgeLoss,
    AgeDistributionLoss,
    BatchAugmenter,
    FaceDataset,
    FaceNet,
    WarmupCosineLR,
    balancing_weights,
    seeded_rng,
)

#: Constraint of ``label_smoothing``, shared by every estimator with a cross-entropy.
LABEL_SMOOTHING = [Interval(Real, 0, 1, closed="left")]

#: Constraints of the age head's parameters, shared by the estimators that predict
#: years: its loss, and the label distribution's standard deviation at age 0 and its
#: growth per year of age.
AGE_HEAD_CONSTRAINTS = {
    "age_loss": [StrOptions({"label_distribution", "absolute_error"})],
    "age_spread": [Interval(Real, 0, None, closed="neither")],
    "age_spread_per_year": [Interval(Real, 0, None, closed="left")],
}


class _FaceEstimator(BaseEstimator):
    """Shared machinery: parameters, input checks, skorch construction, prediction.

    Each family defines ``_encode_targets(y, sample_weight)`` (the training targets;
    it sets the fitted attributes that encode them), ``_n_outputs()`` (outputs of the
    network's head), ``_output_layers()`` (the named layers that turn them into
    predictions, see :class:`~sklearn_age.nets.FaceModel`), ``_balance_groups(y,
    targets)`` (what ``balance`` evens out) and ``_make_criterion()``.
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
        "engine": [StrOptions(set(ENGINES))],
        "verbose": ["verbose"],
        "checkpoint_dir": [str, os.PathLike, None],
        "warm_start": ["boolean"],
    }

    # -- input -----------------------------------------------------------------------
    def _check_X(self, X, reset):
        """Photos (see :func:`~sklearn_age.images.check_photos`), or a float feature
        matrix when ``backbone=None``."""
        if self.backbone is None:
            return validate_data(self, X, reset=reset, dtype=np.float32)
        return check_photos(X)

    def _dataset(self, X, y=None, sample_weight=None, groups=None):
        img_size = None if self.backbone is None else self.img_size
        return FaceDataset(X, y, sample_weight, img_size, groups)

    def _extra_weights(self, targets, groups):
        """Loss weights from ``balance="reweight"`` (inverse to group frequency)."""
        if self.balance == "reweight":
            return balancing_weights(groups, self.balance_power)
        return np.float32(1.0)

    # -- the network -----------------------------------------------------------------
    def _build_module(self, pretrained):
        """The torch module, its head and output layers sized by the fitted targets."""
        if self.backbone is None:
            return FaceModel(None, self._n_outputs(), self.dropout,
                             n_features=self.n_features_in_, outputs=self._output_layers())
        backbone, mean, std = create_backbone(self.backbone, pretrained)
        return FaceModel(
            backbone.to(memory_format=torch.channels_last),
            self._n_outputs(),
            self.dropout,
            normalizer=ImageNormalizer(mean, std),
            augmenter=BatchAugmenter() if self.augment else None,
            flip_average=self.flip_test,
            outputs=self._output_layers(),
        )

    def _init_head(self, layer, shipped=None):
        """Adjust the initial linear head ``layer`` (PyTorch's initialization by default).

        ``shipped`` is the shipped model that the network starts from, or None.
        """

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

    def _build_net(self, seed, checkpoint=None, pretrained=None):
        """The skorch net, with ``checkpoint`` (an :class:`EpochCheckpoint`) last.

        ``pretrained`` overrides the parameter of that name (None keeps it).
        """
        split = (
            ValidSplit(self.validation_fraction, stratified=False, random_state=seed)
            if self.early_stopping else None
        )
        callbacks = self._callbacks()
        if checkpoint is not None:
            callbacks.append(("epoch_checkpoint", checkpoint))
        pretrained = self.pretrained if pretrained is None else pretrained
        shipped = None
        if (self.backbone is not None and isinstance(pretrained, str)
                and pretrained in PRETRAINED_MODELS):
            shipped = pretrained_start(pretrained, self.backbone)
            pretrained = shipped.net_.module_.backbone.state_dict()
        module = self._build_module(pretrained)
        self._init_head(module.head[-1], shipped)
        return FaceNet(
            module,
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

    def _rebuild_net(self, weights):
        """The fitted network, rebuilt from the parameters and fitted attributes, holding
        ``weights`` (a state dict).

        This is the seam of model files (:mod:`sklearn_age.serialization`): no
        pretrained weights are read (the saved ones replace every tensor), and the
        global random generator is left as it was.

        Raises
        ------
        RuntimeError
            If ``weights`` do not fit the network.
        """
        with torch.random.fork_rng(devices=[]):
            net = self._build_net(seed=0, pretrained=False).initialize()
        net.module_.load_state_dict(weights)
        return net

    # -- training --------------------------------------------------------------------
    def _fit_net(self, X, y, sample_weight):
        X = self._check_X(X, reset=not self._continuing())
        check_consistent_length(X, _require_y(self, y))
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        targets = self._encode_targets(y, sample_weight)
        groups = self._balance_groups(y, targets)
        sample_weight = sample_weight * self._extra_weights(targets, groups)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        checkpoint = self._checkpoint(X, targets, sample_weight, seed)
        seed = seed if checkpoint is None else checkpoint.seed
        with seeded_rng(seed, self.device):
            net = self._build_net(seed, checkpoint).initialize()
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

    # -- prediction ------------------------------------------------------------------
    def _predict_outputs(self, X):
        """The output layers' predictions for ``X``: a dict of float64 arrays."""
        check_is_fitted(self, "net_")
        return predict_outputs(self, self._check_X(X, reset=False))

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
    """Standardized ages for training; the age head's outputs, loss and output layer,
    as ``age_loss`` chooses."""

    def _standardize_ages(self, ages, sample_weight):
        """Set ``y_mean_`` and ``y_scale_`` (weighted) and return standardized float32 ages.

        A warm start keeps those of the fitted network, which learned on that scale.
        """
        if not self._continuing():
            self.y_mean_ = float(np.average(ages, weights=sample_weight))
            self.y_scale_ = float(np.sqrt(np.average((ages - self.y_mean_) ** 2,
                                                     weights=sample_weight))) or 1.0
        return ((ages - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _distribution_head(self):
        return self.age_loss == "label_distribution"

    def _n_age_outputs(self):
        """One logit per year 0-120, or the standardized age."""
        return len(age_bins()) if self._distribution_head() else 1

    def _age_output(self):
        if self._distribution_head():
            return ExpectedAgeOutput()
        return AgeOutput(self.y_mean_, self.y_scale_)

    def _init_head(self, layer, shipped=None):
        """Start the label-distribution head at the shipped model's age head when
        fine-tuning from one that has it, else at the distribution of the training
        ages (a normal one with their mean and standard deviation), as the
        standardized output starts at their mean."""
        if not self._distribution_head():
            return
        years = slice(0, len(age_bins()))
        with torch.no_grad():
            if shipped is not None and shipped._distribution_head():
                source = shipped.net_.module_.head[-1]
                layer.weight[years] = source.weight[years]
                layer.bias[years] = source.bias[years]
            else:
                layer.bias[years] = -0.5 * ((age_bins() - self.y_mean_) / self.y_scale_) ** 2

    def _age_loss(self):
        if self._distribution_head():
            return AgeDistributionLoss(self.y_mean_, self.y_scale_, self.age_spread,
                                       self.age_spread_per_year)
        return AbsoluteAgeLoss()


def store_params(estimator, values):
    """Set each constructor parameter of ``estimator`` from ``values`` (its ``locals()``).

    All that the estimators' ``__init__`` does, as scikit-learn asks; their signatures
    list every parameter with its default, as ``get_params`` needs.
    """
    for name in estimator._get_param_names():
        setattr(estimator, name, values[name])


def continued_labels(fitted, labels, name):
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
