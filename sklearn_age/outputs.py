"""What each kind of model returns, from its network's named outputs.

Both the estimators (PyTorch networks) and exported ONNX models
(:func:`~sklearn_age.load_onnx`) inherit these methods; each implements
``_predict_outputs(X)``, a dict of float64 arrays: ``"age"`` (years) and/or
``"proba"`` (class probabilities). This module imports neither torch nor scikit-learn.
"""

import numpy as np


class RegressorOutputs:
    """``predict``: years."""

    def predict(self, X):
        """Predict the age of each face, in years (clipped to 0-120).

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        ages : ndarray of shape (n,)
        """
        return self._predict_outputs(X)["age"]


class ClassifierOutputs:
    """``predict_proba`` and ``predict``: class probabilities and labels (``classes_``)."""

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
        return self._predict_outputs(X)["proba"]

    def predict(self, X):
        """Predict the class of each face.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        labels : ndarray of shape (n,)
        """
        best = np.argmax(self.predict_proba(X), axis=1)
        return self.classes_[best]


class AgeGenderOutputs:
    """Years and gender (``gender_classes_``) from one pass of the network."""

    def predict_age(self, X):
        """Predict ages in years (clipped to 0-120).

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        ages : ndarray of shape (n,)
        """
        return self._predict_outputs(X)["age"]

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
        return self._predict_outputs(X)["proba"]

    def predict_gender(self, X):
        """Predict the gender label of each face.

        Parameters
        ----------
        X : list of str, ndarray of shape (n, H, W, 3) or (n, n_features)

        Returns
        -------
        labels : ndarray of shape (n,)
        """
        best = np.argmax(self.predict_gender_proba(X), axis=1)
        return self.gender_classes_[best]

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
        outputs = self._predict_outputs(X)
        return outputs["age"], outputs["proba"]

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
