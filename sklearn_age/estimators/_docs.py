"""Documentation of the parameters and attributes that every estimator shares.

Written once here and put into each estimator's docstring by :func:`shared_docs`, so
that every API page lists every parameter (as imbalanced-learn shares its docstrings).
"""

#: The parameters of ``_FaceEstimator``, in numpydoc form, indented for a class docstring.
SHARED_PARAMETERS = """\
    backbone : str or None, default="tf_efficientnet_lite0"
        A timm model name, ``"simple_cnn"`` (small CNN trained from scratch) or ``None``
        (``X`` is a 2-D feature matrix and the net is only the head).
    pretrained : bool, str or os.PathLike, default=True
        Start from ImageNet weights (offline for the default backbone, timm's hub for
        others), from a shipped age model (its name, ``"utkface"``: see
        :func:`~sklearn_age.load_pretrained`: its backbone, and its age head for a
        label-distribution age head; other heads start afresh), from a weights file
        (a path), or from random weights (``False``).
    img_size : int, default=112
        Side of the square images the network sees; other sizes are resized.
    lr : float, default=2e-3
        Peak learning rate of AdamW. Fine-tuning from the shipped model
        (``pretrained="utkface"``) wants a lower one: 1e-4 was best for 16 epochs and
        2.5e-4 for 4 (``bench/bench_finetune_lr.py``).
    weight_decay : float, default=0.05
        AdamW's decoupled weight decay (not applied to biases and normalization
        parameters).
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
        accurate, twice the prediction cost (figures on the performance page of the
        user guide). Read at prediction time, so it can be switched on a fitted model
        with ``set_params``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, stop when its loss has not
        improved for ``patience`` epochs and restore the best epoch's weights.
    patience : int, default=3
        Epochs without improvement before early stopping.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    balance : {"reweight", "resample"} or None, default=None
        Counter imbalance: ``"reweight"`` weights each face in the loss inversely
        to the frequency of its group (age range, or class); ``"resample"`` draws
        training batches with a weighted sampler so that every group is seen equally
        often.
    balance_power : float in [0, 1], default=1.0
        How far ``balance`` evens the groups out: the weights are the inverse group
        frequencies raised to this power (1: fully; 0.5: square root, milder).
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Added to the net's own (learning-rate schedule, early stopping, progress).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, augmentation and dropout; an int makes
        two fits on the CPU identical.
    device : str, default="cpu"
        Torch device, such as ``"cpu"`` or ``"cuda"``.
    engine : {"auto", "onnxruntime", "torch"}, default="auto"
        What runs the network at prediction time. ``"onnxruntime"`` exports it once
        per fitted network to an ONNX graph held in memory (never pickled nor saved),
        much faster on the CPU; ``"auto"`` takes it for an image model on the CPU,
        once the network has predicted 256 images with PyTorch (building the graph
        takes about a second), and PyTorch otherwise. If onnxruntime is missing or
        cannot run the graph, prediction goes on in PyTorch after a warning. Both give
        the same predictions to a relative 1e-5.
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
        (the age scale ``y_mean_`` and ``y_scale_``; a classifier's ``classes_``,
        which new labels must be among).
"""

#: The fitted attributes of ``_FaceEstimator``, in numpydoc form.
SHARED_ATTRIBUTES = """\
    net_ : skorch.NeuralNet
        The trained network; ``net_.history`` holds the losses per epoch and the
        learning rate per batch (``event_lr``).
    history_ : skorch.History
        Shortcut for ``net_.history``.
    n_epochs_ : int
        Epochs trained, counting those of a resumed checkpoint and, with
        ``warm_start``, of the earlier fits.
    n_features_in_ : int
        Width of ``X`` (only when ``backbone=None``).
"""

_MARKERS = {"%(shared_parameters)s\n": SHARED_PARAMETERS,
            "%(shared_attributes)s\n": SHARED_ATTRIBUTES}


def shared_docs(cls):
    """Class decorator: put the shared parameters and attributes into the docstring.

    The docstring marks their places with lines ``%(shared_parameters)s`` and
    ``%(shared_attributes)s`` (no indentation).
    """
    doc = cls.__doc__
    for marker, text in _MARKERS.items():
        if marker not in doc:
            raise ValueError(f"{cls.__name__}'s docstring lacks the line {marker.strip()}")
        doc = doc.replace(marker, text)
    cls.__doc__ = doc
    return cls
