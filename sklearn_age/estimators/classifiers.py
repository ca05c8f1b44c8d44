"""AgeClassifier (age ranges, or any face labels) and GenderClassifier."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ..nets import DEFAULT_BACKBONE, ProbabilityOutput
from ..outputs import ClassifierOutputs
from ..ranges import PRESETS, AgeRanges
from ..targets import check_ages, check_labels
from ._base import LABEL_SMOOTHING, _FaceEstimator, continued_labels, store_params
from ._docs import shared_docs


class _FaceClassifier(ClassifierOutputs, ClassifierMixin, _FaceEstimator):
    """Shared classifier machinery: labels, class weights, probabilities, predictions.

    Subclasses define ``_encode_labels(y)`` returning ``classes_`` and the index of
    each sample's class.
    """

    _parameter_constraints = {
        **_FaceEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "label_smoothing": LABEL_SMOOTHING,
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
            return continued_labels(self.classes_, classes[encoded], "classes_")
        self.classes_ = classes
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least two classes in y; found "
                f"{len(self.classes_)} class: {self.classes_.tolist()}."
            )
        return encoded.astype(np.int64)

    def _n_outputs(self):
        return len(self.classes_)

    def _output_layers(self):
        return {"proba": ProbabilityOutput()}

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


@shared_docs
class AgeClassifier(_FaceClassifier):
    """Predict age ranges (or any face labels) from face photos with a fine-tuned CNN.

    The network is that of :class:`AgeRegressor` with one output per class, trained
    with a (weighted) cross-entropy.

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
%(shared_parameters)s

    Attributes
    ----------
    classes_ : ndarray
        The labels seen in training (range labels in age order, when ``ranges`` is set).
    ranges_ : AgeRanges or None
        The age ranges in use.
%(shared_attributes)s

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
                 callbacks=None, random_state=None, device="cpu", engine="auto", verbose=0,
                 checkpoint_dir=None, warm_start=False):
        store_params(self, locals())

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


@shared_docs
class GenderClassifier(_FaceClassifier):
    """Predict gender from face photos with a fine-tuned CNN.

    The network is that of :class:`AgeRegressor` with two outputs, trained with a
    (weighted) cross-entropy; ``balance`` evens out the two classes.

    Parameters
    ----------
    class_weight : dict, "balanced" or None, default=None
        Weights of the two classes in the loss, keyed by the labels of ``y`` (such as
        ``{"male": 1, "female": 2}``); ``"balanced"`` is inverse to frequency.
    label_smoothing : float in [0, 1), default=0.0
        Share of each target spread evenly over the classes in the cross-entropy, as in
        ``torch.nn.CrossEntropyLoss``: it keeps the network from growing
        over-confident on the training faces.
%(shared_parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels, as given in ``y`` (UTKFace: 0 male, 1 female; strings work too).
%(shared_attributes)s

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
                 balance_power=1.0, callbacks=None, random_state=None, device="cpu", engine="auto",
                 verbose=0, checkpoint_dir=None, warm_start=False):
        store_params(self, locals())

    def _encode_labels(self, y):
        return np.unique(check_labels(y, n_classes=2), return_inverse=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # exactly two classes
        return tags
