"""skorch glue: datasets, train-time augmentation, the weighted and L1-penalized loss."""

import contextlib
import math

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import LRScheduler
from sklearn.utils.class_weight import compute_sample_weight
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import Dataset, Subset, WeightedRandomSampler

from .images import holds_paths, read_image_at, resize_images
from .nets import age_bins


class FaceDataset(Dataset):
    """Samples for skorch: images decoded lazily from paths, or rows of an array.

    Each item is ``(x, (target, weight))``; ``target`` and ``weight`` are 0 and 1 when
    no ``y`` / ``sample_weight`` is given (prediction).

    Parameters
    ----------
    X : ndarray or list
        Paths (object array, decoded per item), ``uint8`` images (an ``(n, H, W, 3)``
        array or a list of arrays, resized to ``img_size`` if needed) or a float feature
        matrix ``(n, d)``.
    y : ndarray or None
        Targets (float years or int class indices).
    sample_weight : ndarray or None
    img_size : int or None
        Side of the images handed to the network; ``None`` for feature matrices.
    groups : ndarray of int or None
        Group (age range or class) of each sample, for balanced resampling.
    """

    def __init__(self, X, y=None, sample_weight=None, img_size=None, groups=None):
        self.paths = X if holds_paths(X) else None
        self.groups = groups
        if self.paths is None and img_size is not None:
            X = resize_images(X, img_size)
        self.X = X
        self.y = y
        self.sample_weight = sample_weight
        self.img_size = img_size

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        if self.paths is not None:
            x = torch.from_numpy(read_image_at(self.paths, index, self.img_size))
        else:
            x = torch.as_tensor(self.X[index])
        target = 0 if self.y is None else self.y[index]
        weight = 1.0 if self.sample_weight is None else self.sample_weight[index]
        return x, (target, np.float32(weight))


@contextlib.contextmanager
def seeded_rng(seed, device):
    """Seed the generators a fit on ``device`` draws from; restore them on exit.

    That is the CPU generator and, for a CUDA device, every CUDA device's generator.
    Other devices' generators are left alone (``torch.manual_seed`` would reseed them
    all, for good).
    """
    cuda = torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed_all(seed)
        yield


def balancing_weights(groups, power=1.0):
    """Per-sample weights that even out the groups: ``(n / (k * count)) ** power``.

    Parameters
    ----------
    groups : array-like of shape (n,)
        Group (age range or class) of each sample.
    power : float, default=1.0
        1 gives every group the same total weight; 0.5 (square root) is a milder
        correction; 0 leaves all weights at 1.

    Returns
    -------
    weights : ndarray of shape (n,), float32
    """
    return (compute_sample_weight("balanced", groups) ** power).astype(np.float32)


def _subset_values(dataset, name):
    """``dataset.<name>``, following ``torch.utils.data.Subset`` indices (skorch's split)."""
    if isinstance(dataset, Subset):
        return _subset_values(dataset.dataset, name)[np.asarray(dataset.indices)]
    return getattr(dataset, name)


class BatchAugmenter(nn.Module):
    """Random flips, rotations, crops and colour jitter, applied to a whole batch at once.

    One affine warp per image (mirror, rotation up to ``max_rotation`` degrees, zoom
    into a crop keeping ``min_crop`` of the side or more, and the matching shift), then
    brightness, contrast and saturation each scaled by up to ``jitter``.
    It works on pixels, before normalization, so that brightness scales the light of
    the photo: inputs are images ``(n, H, W, 3)`` in 0-255 (``uint8`` or float), outputs
    float images of the same shape, clipped to 0-255. Randomness comes from torch's RNG.
    """

    def __init__(self, max_rotation=15.0, min_crop=0.85, jitter=0.2):
        super().__init__()
        self.max_rotation = max_rotation
        self.min_crop = min_crop
        self.jitter = jitter

    def _uniform(self, n, low, high, like):
        return torch.empty(n, device=like.device).uniform_(low, high)

    def forward(self, images):
        x = images.permute(0, 3, 1, 2).float() / 255.0
        n = len(x)
        angle = self._uniform(n, -1, 1, x) * math.radians(self.max_rotation)
        scale = self._uniform(n, self.min_crop, 1.0, x)
        mirror = torch.where(torch.rand(n, device=x.device) < 0.5, -1.0, 1.0)
        shift = (1 - scale)[:, None] * self._uniform(2 * n, -1, 1, x).view(n, 2)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack(
            [torch.stack([cos * mirror, -sin, shift[:, 0]], 1),
             torch.stack([sin * mirror, cos, shift[:, 1]], 1)], 1
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)
        jitter = self._uniform(3 * n, 1 - self.jitter, 1 + self.jitter, x).view(3, n, 1, 1, 1)
        x = x * jitter[0]
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * jitter[1] + mean
        gray = x.mean(dim=1, keepdim=True)
        x = gray + (x - gray) * jitter[2]
        return (x.clamp(0.0, 1.0) * 255.0).permute(0, 2, 3, 1)


class FaceNet(NeuralNet):
    """skorch ``NeuralNet`` whose loss honours sample weights and adds an L1 penalty.

    Weight decay applies to weight matrices and convolution kernels only, not to biases
    and normalization parameters.

    The criterion must return one loss per sample (``reduction="none"``); the batch loss
    is their weighted mean, plus ``l1_lambda`` times the sum of absolute weights of
    the network (biases and normalization parameters excluded) while training.
    A criterion with ``parts(y_pred, target)`` and ``combine(parts)`` methods (such as
    :class:`AgeGenderLoss`) is evaluated once per batch through them, and each part's
    weighted mean is recorded in the batch history as ``train_<part>_loss`` /
    ``valid_<part>_loss``.

    Parameters
    ----------
    l1_lambda : float, default=0.0
        Strength of the L1 penalty.
    resample : bool, default=False
        Draw training batches with replacement, each dataset group (its ``groups``)
        equally likely, instead of shuffling.
    balance_power : float, default=1.0
        Exponent of the resampling weights (see :func:`balancing_weights`).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, *args, l1_lambda=0.0, resample=False, balance_power=1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.l1_lambda = l1_lambda
        self.resample = resample
        self.balance_power = balance_power

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's parameter groups, each split so that 1-D tensors (biases and
        normalization weights) get no weight decay, as usual for AdamW."""
        (groups,), kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        split = []
        for group in groups:
            matrices = [p for p in group["params"] if p.ndim > 1]
            vectors = [p for p in group["params"] if p.ndim <= 1]
            if matrices:
                split.append({**group, "params": matrices})
            if vectors:
                split.append({**group, "params": vectors, "weight_decay": 0.0})
        return (split,), kwargs

    def get_iterator(self, dataset, training=False):
        """With ``resample``, training batches come from a group-balanced sampler."""
        if not (training and self.resample):
            return super().get_iterator(dataset, training=training)
        groups = _subset_values(dataset, "groups")
        weights = torch.as_tensor(balancing_weights(groups, self.balance_power))
        kwargs = self.get_params_for("iterator_train")
        kwargs.pop("shuffle", None)
        kwargs.setdefault("batch_size", self.batch_size)
        sampler = WeightedRandomSampler(weights, num_samples=len(dataset), replacement=True)
        return self.iterator_train(dataset, sampler=sampler, **kwargs)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        target, weight = y_true
        target = target.to(self.device)
        weight = weight.to(self.device)
        total_weight = weight.sum().clamp_min(1e-12)
        if hasattr(self.criterion_, "parts"):
            parts = self.criterion_.parts(y_pred, target)
            losses = self.criterion_.combine(parts)
            subset = "train" if training else "valid"
            for name, part in parts.items():
                self.history.record_batch(
                    f"{subset}_{name}_loss", float((part.detach() * weight).sum() / total_weight)
                )
        else:
            losses = self.criterion_(y_pred, target)
        loss = (losses * weight).sum() / total_weight
        if training and self.l1_lambda:
            loss = loss + self.l1_lambda * sum(
                p.abs().sum() for p in self.module_.parameters()
                if p.requires_grad and p.ndim > 1
            )
        return loss


class AbsoluteAgeLoss(nn.Module):
    """Per-sample absolute error of the standardized age in output column 0."""

    def forward(self, outputs, target):
        return (outputs[:, 0] - target.to(outputs.dtype)).abs()


class AgeDistributionLoss(nn.Module):
    """Per-sample label-distribution loss of DLDL-v2 (Gao et al., 2018) on one logit for
    each year 0-120.

    The true age becomes a normal distribution over the years, wider for older faces
    when ``sigma_per_year`` > 0 (standard deviation ``sigma + sigma_per_year * age``),
    as their age is less certain; the loss is the Kullback-Leibler divergence
    from it to the softmax of the logits, plus the absolute error in years of that
    softmax's expected age. The sum is divided by ``scale`` so that it is on the scale
    of :class:`AbsoluteAgeLoss`.

    Parameters
    ----------
    mean, scale : float
        Mean and standard deviation of the training ages: targets come standardized.
    sigma : float
        Spread of the label distribution at age 0, in years (the estimators'
        ``age_spread``).
    sigma_per_year : float
        Growth of the spread per year of age (``age_spread_per_year``).
    """

    def __init__(self, mean, scale, sigma, sigma_per_year):
        super().__init__()
        self.mean, self.scale = float(mean), float(scale)
        self.sigma, self.sigma_per_year = float(sigma), float(sigma_per_year)
        self.register_buffer("years", age_bins(), persistent=False)

    def forward(self, outputs, target):
        ages = target.float()[:, None] * self.scale + self.mean
        spread = self.sigma + self.sigma_per_year * ages.clamp(min=0.0)
        log_p = F.log_softmax(outputs.float(), dim=1)
        log_q = F.log_softmax(-0.5 * ((self.years - ages) / spread) ** 2, dim=1)
        divergence = (log_q.exp() * (log_q - log_p)).sum(dim=1)
        expected = (log_p.exp() * self.years).sum(dim=1)
        return (divergence + (expected - ages[:, 0]).abs()) / self.scale


class AgeGenderLoss(nn.Module):
    """Per-sample weighted sum of an age loss and a gender loss.

    The last two outputs are the gender logits (cross-entropy), the ones before them the
    age head's, scored by ``age_loss``; the target holds the standardized age and the
    gender index.

    Parameters
    ----------
    age_loss : nn.Module
        Per-sample loss of the age outputs and standardized ages, such as
        :class:`AgeDistributionLoss` or :class:`AbsoluteAgeLoss`.
    age_weight, gender_weight : float
        Weights of the two losses.
    label_smoothing : float, default=0.0
        Label smoothing of the gender cross-entropy.
    """

    def __init__(self, age_loss, age_weight=1.0, gender_weight=1.0, label_smoothing=0.0):
        super().__init__()
        self.age_loss = age_loss
        self.age_weight = age_weight
        self.gender_weight = gender_weight
        self.label_smoothing = label_smoothing

    def parts(self, y_pred, target):
        """The unweighted per-sample loss of each head, by name."""
        return {
            "age": self.age_loss(y_pred[:, :-2], target[:, 0]),
            "gender": F.cross_entropy(y_pred[:, -2:], target[:, 1].long(), reduction="none",
                                      label_smoothing=self.label_smoothing),
        }

    def combine(self, parts):
        """The weighted sum of the parts :meth:`parts` returns."""
        return self.age_weight * parts["age"] + self.gender_weight * parts["gender"]

    def forward(self, y_pred, target):
        return self.combine(self.parts(y_pred, target))


class WarmupCosine:
    """Learning-rate factor of each training step: linear warm-up, then cosine decay to 0.

    A picklable ``lr_lambda`` for ``torch.optim.lr_scheduler.LambdaLR``.

    Parameters
    ----------
    total_steps : int
        Training steps (batches) of the whole schedule.
    warmup_fraction : float, default=0.05
        Share of the steps spent warming up from a tenth of the peak.
    """

    def __init__(self, total_steps, warmup_fraction=0.05):
        self.total_steps = total_steps
        self.warmup_fraction = warmup_fraction

    def __call__(self, step):
        progress = step / self.total_steps
        if progress < self.warmup_fraction:
            return 0.1 + 0.9 * progress / self.warmup_fraction
        span = max(1.0 - self.warmup_fraction, 1e-12)
        return 0.5 * (1 + math.cos(math.pi * (progress - self.warmup_fraction) / span))


class WarmupCosineLR(LRScheduler):
    """skorch's ``LRScheduler`` stepping :class:`WarmupCosine` every training batch.

    The peak is the net's ``lr``; the schedule spans ``max_epochs`` epochs of the
    training split, whatever its size. Each batch's learning rate is recorded in the
    history as ``event_lr``. Every ``fit`` starts the schedule over (skorch would
    continue it from the history's epoch count, which counts epochs, not batches).

    Parameters
    ----------
    warmup_fraction : float, default=0.05
        Share of all training steps spent warming up from ``lr / 10``.
    """

    def __init__(self, warmup_fraction=0.05):
        super().__init__(policy=LambdaLR, step_every="batch")
        self.warmup_fraction = warmup_fraction

    @property
    def kwargs(self):
        """No keyword arguments for skorch to pass on: :meth:`_get_scheduler` builds it."""
        return {}

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        dataset_train, _ = net.get_split_datasets(X, y)
        per_epoch = math.ceil(len(dataset_train) / net.batch_size)
        self.total_steps_ = max(per_epoch * net.max_epochs, 1)
        super().on_train_begin(net, X=X, y=y, **kwargs)

    def _get_scheduler(self, net, policy, **scheduler_kwargs):
        return policy(net.optimizer_, WarmupCosine(self.total_steps_, self.warmup_fraction))
