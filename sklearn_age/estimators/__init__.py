"""scikit-learn estimators for faces: age in years, age ranges, gender, or age and gender.

All four are thin families over one shared base (``_base``) that validates the data,
builds the torch module and the skorch net in ``fit``, and predicts through the
network's output layers; the classifiers share a second layer (labels, class weights,
probabilities). The parameters they share are documented once (``_docs``).
"""

from .age_gender import AgeGenderEstimator
from .classifiers import AgeClassifier, GenderClassifier
from .regressor import AgeRegressor

#: The estimator classes by name: those that model files may hold and that
#: :mod:`sklearn_age.serialization` rebuilds (through ``_FaceEstimator._rebuild_net``).
ESTIMATORS = {cls.__name__: cls
              for cls in (AgeRegressor, AgeClassifier, GenderClassifier, AgeGenderEstimator)}

__all__ = ["AgeClassifier", "AgeGenderEstimator", "AgeRegressor", "ESTIMATORS",
           "GenderClassifier"]
