"""The ready-trained models shipped with the package: model files as package data.

Nothing is downloaded: the files install with ``pip install sklearn-age``. They are
ordinary model files (see :func:`~sklearn_age.save_model`, no pickle), with float16
weights to keep the wheel small. Their model card is in the user guide.
"""

from importlib import resources

from .exceptions import ModelFileError

#: Name of each shipped model -> its file in ``sklearn_age/data``.
PRETRAINED_MODELS = {"utkface": "age_gender_utkface.skage"}

#: The model that ``load_pretrained()`` and the command line use when none is named.
DEFAULT_PRETRAINED = "utkface"

#: Where the shipped model files are installed.
MODELS_DIR = resources.files(__package__).joinpath("data")


def pretrained_model_path(name=DEFAULT_PRETRAINED):
    """The installed file of the shipped model ``name``.

    Raises
    ------
    ValueError
        If no shipped model has that name; the message lists the names.
    ModelFileError
        If the file is missing from the installation.
    """
    if not isinstance(name, str) or name not in PRETRAINED_MODELS:
        raise ValueError(
            f"No shipped model is named {name!r}; the shipped models are "
            f"{sorted(PRETRAINED_MODELS)}."
        )
    path = MODELS_DIR.joinpath(PRETRAINED_MODELS[name])
    if not path.is_file():
        raise ModelFileError(
            f"The shipped model {name!r} is missing: {path} does not exist. Reinstall "
            "sklearn-age (pip install --force-reinstall sklearn-age)."
        )
    return path


def load_pretrained(name=DEFAULT_PRETRAINED, *, device=None):
    """The ready-trained model shipped with the package, fitted and offline.

    ``"utkface"`` is an :class:`~sklearn_age.AgeGenderEstimator` (EfficientNet-Lite0 at
    112 pixels) trained on 6,248 UTKFace faces: ``predict_age`` gives years,
    ``predict_gender`` the gender (``"female"`` or ``"male"``, the order of
    ``gender_classes_`` and of ``predict_gender_proba``'s columns), ``predict`` both
    from one pass. Its training, figures and limits are on the model card in
    the user guide; UTKFace is for non-commercial research only.

    Parameters
    ----------
    name : str, default="utkface"
        The shipped model; :data:`PRETRAINED_MODELS` lists the names.
    device : str or None, default=None
        Torch device to load the network onto (None: the CPU).

    Returns
    -------
    estimator : AgeGenderEstimator
        Fitted; ``fit`` trains it anew. To fine-tune from it instead, pass
        ``pretrained="utkface"`` to any estimator.

    Raises
    ------
    ValueError
        If no shipped model has that name.
    ModelFileError
        If its file is missing or damaged (the message names the file).

    Examples
    --------
    >>> from sklearn_age import load_pretrained
    >>> model = load_pretrained()
    >>> model.predict_age(["me.jpg"])  # doctest: +SKIP
    array([31.4])
    """
    from .serialization import load_model  # it imports the estimators, which import us

    with resources.as_file(pretrained_model_path(name)) as path:
        return load_model(path, device=device)


def pretrained_start(name, backbone):
    """The shipped model ``name``, to fine-tune an estimator with ``backbone`` from.

    Parameters
    ----------
    name : str
        A shipped model.
    backbone : str
        The backbone of the estimator to fine-tune; it must be the shipped model's.

    Returns
    -------
    model : AgeGenderEstimator
        The shipped model, fitted (float32 weights): its backbone is the start, and a
        label-distribution age head starts from its age head.

    Raises
    ------
    ValueError
        If ``backbone`` is not the shipped model's backbone.
    """
    model = load_pretrained(name)
    if backbone != model.backbone:
        raise ValueError(
            f"pretrained={name!r} starts from a {model.backbone!r} trained on ages; "
            f"backbone={backbone!r} cannot take its weights. Set "
            f"backbone={model.backbone!r}, or pretrained=True for ImageNet weights."
        )
    return model
