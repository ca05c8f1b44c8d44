"""Resume an interrupted fit: the whole training state, written after every epoch.

:class:`EpochCheckpoint` is a skorch :class:`~skorch.callbacks.Checkpoint` that writes,
after each finished epoch ``k``, a folder ``epoch_<k>`` in its ``dirname`` holding

- ``params.pt``, ``optimizer.pt``, ``history.json``: skorch's own files
  (:meth:`skorch.NeuralNet.save_params`);
- ``state.pt``: torch's random number generator and the state of the other callbacks
  (the learning-rate schedule's step, early stopping's count and best weights, ...);
- ``config.json``: what trains (:func:`training_config`) and the fit's seed.

The folder is written under a temporary name and renamed when complete, so a process
killed at any moment leaves the last finished epoch whole; older epochs are then removed.
"""

import hashlib
import json
import os
import pickle
import re
import shutil

import numpy as np
import torch
from skorch.callbacks import Checkpoint, PrintLog
from torch.optim.lr_scheduler import LRScheduler

#: Version of the checkpoint layout; folders of another version are refused.
FORMAT_VERSION = 2

#: Parameters that may differ between a fit and the fit that resumes it.
FREE_PARAMS = frozenset({"callbacks", "checkpoint_dir", "device", "engine", "verbose",
                         "warm_start"})

_CONFIG, _STATE = "config.json", "state.pt"
_EPOCH = re.compile(r"epoch_(\d+)")
_PARTIAL_PREFIX = ".partial_epoch_"

#: Callbacks whose state is not restored: PrintLog prints its table header again.
_NOT_RESTORED = (PrintLog,)

#: Errors of reading a damaged checkpoint file.
_READ_ERRORS = (OSError, EOFError, RuntimeError, ValueError, TypeError, KeyError,
                pickle.UnpicklingError)


def training_config(estimator, X, targets, sample_weight):
    """What a fit trains, as JSON data: the estimator, its parameters and its data.

    Parameters
    ----------
    estimator : estimator
        Its class name and ``get_params()``, less :data:`FREE_PARAMS`, are recorded
        (objects that are not data by their type name only).
    X : ndarray or list
        The checked training inputs: paths (an object array), images (an array or a
        list of arrays) or features.
    targets, sample_weight : ndarray
        The encoded training targets and the sample weights.

    Returns
    -------
    config : dict
        ``estimator``, ``params``, ``n_samples``, and ``data_sha256``, a SHA-256
        digest of ``X``, ``targets`` and ``sample_weight``.
    """
    params = {name: value for name, value in estimator.get_params(deep=False).items()
              if name not in FREE_PARAMS}
    digest = hashlib.sha256()
    images = X if isinstance(X, list) else [X]  # a list of images of any sizes
    for array in (*images, targets, sample_weight):
        if array.dtype == object:
            digest.update("\0".join(map(str, array.tolist())).encode())
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
    return {"estimator": type(estimator).__name__, "params": _json_data(params),
            "n_samples": len(targets), "data_sha256": digest.hexdigest()}


def _json_data(value):
    """``value`` as JSON data: arrays as lists, paths as strings, other objects by type."""
    if isinstance(value, dict):
        return {str(key): _json_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_data(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return f"<{type(value).__name__}>"


def _differences(saved, current):
    """Lines naming what differs between a saved configuration and the current one."""
    def flat(config):
        items = {key: value for key, value in config.items() if key != "params"}
        items.update({f"parameter {name}": value
                      for name, value in config.get("params", {}).items()})
        return items

    saved, current = flat(saved), flat(current)
    return [f"{key}: {saved.get(key, '(absent)')!r} in the checkpoint, "
            f"{current.get(key, '(absent)')!r} now"
            for key in sorted(saved.keys() | current.keys())
            if saved.get(key) != current.get(key)]


def _epoch_folders(dirname):
    """The finished epochs in ``dirname``, as ``{epoch: folder}``."""
    if not os.path.isdir(dirname):
        return {}
    return {int(match.group(1)): os.path.join(dirname, name)
            for name in os.listdir(dirname) if (match := _EPOCH.fullmatch(name))}


def _read_config(folder):
    """The configuration and seed recorded in an epoch folder; ValueError if unreadable."""
    try:
        with open(os.path.join(folder, _CONFIG), encoding="utf-8") as file:
            saved = json.load(file)
        version, config, seed = saved["format_version"], saved["config"], saved["seed"]
        if not (isinstance(config, dict) and isinstance(seed, int)):
            raise TypeError("it is not a checkpoint configuration")
    except _READ_ERRORS as exc:
        raise ValueError(
            f"The checkpoint {folder!r} is damaged: its {_CONFIG} cannot be read ({exc}). "
            "Delete the folder to start the fit over."
        ) from exc
    if version != FORMAT_VERSION:
        raise ValueError(
            f"The checkpoint {folder!r} has format version {version!r}; this sklearn-age "
            f"reads version {FORMAT_VERSION}."
        )
    return config, seed


def _as_data(value):
    """``value`` with numpy scalars as Python numbers, if it is data.

    Data here is what ``torch.load(weights_only=True)`` reads back: None, numbers,
    strings, tensors, and lists, tuples and dicts of them.

    Raises
    ------
    TypeError
        If ``value`` holds any other object.
    """
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, dict):
        return {key: _as_data(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_data(item) for item in value)
    raise TypeError(f"a {type(value).__name__} is not data")


def _callback_state(callback):
    """A callback's fitted attributes (names ending in ``_``) that are data.

    Objects with a ``state_dict`` (a torch learning-rate scheduler) are saved by it;
    other objects (a progress bar) are left out.
    """
    values, state_dicts = {}, {}
    for name, value in vars(callback).items():
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, type):  # such as skorch's policy_, a scheduler class
            continue
        if hasattr(value, "state_dict") and hasattr(value, "load_state_dict"):
            state_dicts[name] = value.state_dict()
            continue
        try:
            values[name] = _as_data(value)
        except TypeError:
            pass
    return {"values": values, "state_dicts": state_dicts}


def _restore_callback(callback, state):
    for name, value in state["values"].items():
        setattr(callback, name, value)
    for name, value in state["state_dicts"].items():
        restored = getattr(callback, name)
        restored.load_state_dict(value)
        if isinstance(restored, LRScheduler):
            # Building the scheduler reset the optimizer's learning rates; set them back.
            for group, lr in zip(restored.optimizer.param_groups, restored.get_last_lr()):
                group["lr"] = lr


def _rng_state(device):
    """torch's generator state: the CPU one, and the device's when training on CUDA."""
    state = {"cpu": torch.get_rng_state()}
    if torch.device(device).type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state, device):
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.device(device).type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


class EpochCheckpoint(Checkpoint):
    """skorch checkpoint of the whole training state after every epoch, to resume a fit.

    Build it with :meth:`open`, add it as the net's last callback, and call
    :meth:`restore` on the initialized net before ``partial_fit``: the net then trains
    from the last finished epoch, with the same weights, optimizer state, history,
    callback state (such as the learning-rate schedule's ``step_``) and random
    generator as the interrupted fit had, so on the CPU it ends as an uninterrupted fit.

    Parameters
    ----------
    dirname : str or os.PathLike
        The checkpoint folder (created if missing).
    config : dict
        What the fit trains (:func:`training_config`), recorded with every epoch.
    seed : int
        The fit's seed (weight initialization, validation split), recorded with every
        epoch so that a resumed fit uses the same one.
    resume_from : str or None, default=None
        The epoch folder that :meth:`restore` loads; None starts afresh.
    """

    def __init__(self, dirname, config, seed, resume_from=None):
        super().__init__(monitor=None, dirname=os.fspath(dirname), event_name=None)
        self.config = config
        self.seed = seed
        self.resume_from = resume_from

    @classmethod
    def open(cls, dirname, config, seed):
        """A checkpoint for ``dirname``, set to resume from its last finished epoch.

        Parameters
        ----------
        dirname : str or os.PathLike
        config : dict
            What this fit trains (:func:`training_config`).
        seed : int
            This fit's seed, kept unless the folder holds a checkpoint (whose seed wins).

        Returns
        -------
        checkpoint : EpochCheckpoint

        Raises
        ------
        ValueError
            If the last epoch in ``dirname`` was written by another configuration (the
            message lists what differs), or its ``config.json`` cannot be read.
        """
        dirname = os.fspath(dirname)
        epochs = _epoch_folders(dirname)
        if not epochs:
            return cls(dirname, config, seed)
        folder = epochs[max(epochs)]
        saved, saved_seed = _read_config(folder)
        differences = _differences(saved, config)
        if differences:
            raise ValueError(
                f"checkpoint_dir {dirname!r} holds a checkpoint of another fit; a "
                "checkpoint resumes only the fit that wrote it (same estimator, parameters "
                "and training data). Differences:\n  " + "\n  ".join(differences)
                + "\nUse another folder, or delete this one to start over."
            )
        return cls(dirname, config, saved_seed, resume_from=folder)

    def initialize(self):
        super().initialize()
        self.pending_state_ = None
        return self

    def restore(self, net):
        """Load the checkpoint into the initialized ``net``; return its number of epochs.

        The weights, optimizer state and history are loaded now; the random generator and
        the other callbacks' state in ``on_train_begin``, once they have reset
        themselves.

        Raises
        ------
        ValueError
            If a file of the checkpoint is missing or damaged.
        """
        if self.resume_from is None:
            return 0
        folder = self.resume_from
        try:
            net.load_params(**{name: os.path.join(folder, getattr(self, name))
                               for name in ("f_params", "f_optimizer", "f_history")})
            self.pending_state_ = torch.load(os.path.join(folder, _STATE),
                                             map_location="cpu", weights_only=True)
        except _READ_ERRORS as exc:
            raise ValueError(
                f"The checkpoint {folder!r} is damaged: {type(exc).__name__}: {exc}. "
                "Delete the folder to start the fit over."
            ) from exc
        epochs = int(_EPOCH.fullmatch(os.path.basename(folder)).group(1))
        if len(net.history) != epochs:
            raise ValueError(
                f"The checkpoint {folder!r} is damaged: its history has "
                f"{len(net.history)} epochs instead of {epochs}."
            )
        return epochs

    def on_train_begin(self, net, **kwargs):
        """Restore the other callbacks' state and the random generator, when resuming."""
        state, self.pending_state_ = self.pending_state_, None
        if state is None:
            return
        callbacks = dict(net.callbacks_)
        for name, callback_state in state["callbacks"].items():
            if name in callbacks:  # callbacks may change between the fits
                _restore_callback(callbacks[name], callback_state)
        _set_rng_state(state["rng"], net.device)

    def save_model(self, net):
        """Write the training state as the folder ``epoch_<k>``; remove older epochs.

        Unlike skorch's ``Checkpoint``, a failure to write is an error, not a message.
        """
        epoch = len(net.history)
        for name in os.listdir(self.dirname):  # left by a killed process
            if name.startswith(_PARTIAL_PREFIX):
                shutil.rmtree(os.path.join(self.dirname, name))
        partial = os.path.join(self.dirname, f"{_PARTIAL_PREFIX}{epoch}")
        os.makedirs(partial)
        net.save_params(**{name: os.path.join(partial, getattr(self, name))
                           for name in ("f_params", "f_optimizer", "f_history")})
        torch.save(self._training_state(net), os.path.join(partial, _STATE))
        with open(os.path.join(partial, _CONFIG), "w", encoding="utf-8") as file:
            json.dump({"format_version": FORMAT_VERSION, "config": self.config,
                       "seed": self.seed}, file, indent=1)
        os.replace(partial, os.path.join(self.dirname, f"epoch_{epoch:04d}"))
        for old, folder in _epoch_folders(self.dirname).items():
            if old < epoch:
                shutil.rmtree(folder)

    def _training_state(self, net):
        """The random generator and the state of every other callback that keeps one."""
        return {
            "rng": _rng_state(net.device),
            "callbacks": {name: _callback_state(callback) for name, callback in net.callbacks_
                          if callback is not self and not isinstance(callback, _NOT_RESTORED)},
        }
