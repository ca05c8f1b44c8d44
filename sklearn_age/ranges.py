"""Age ranges: presets, explicit lower bounds, and binning of ages into ranges."""

import numpy as np

#: Lower bounds (in whole years) of the preset ranges.
PRESETS = {
    "life_stages": (0, 6, 19, 31, 46, 66),
    "fine": (1, 3, 6, 11, 15, 18, 23, 28, 34, 41, 51, 61, 71, 81),
}


class AgeRanges:
    """Consecutive age ranges, each given by its lower bound in whole years.

    A range covers the ages from its lower bound up to (not including) the next range's
    lower bound; the last range is open-ended. Ages are counted in completed years, so
    an age of 5.7 falls in ``"0-5"``. Ages below the first bound fall in the first range.

    Parameters
    ----------
    ranges : str or sequence of int
        A preset name (``"life_stages"`` or ``"fine"``) or strictly increasing,
        non-negative lower bounds such as ``[0, 13, 20, 65]``.

    Attributes
    ----------
    lower : ndarray of int
        Lower bound of each range.
    labels : ndarray of str
        A label per range, such as ``"0-5"`` or ``"66+"``.

    Examples
    --------
    >>> from sklearn_age.ranges import AgeRanges
    >>> r = AgeRanges("life_stages")
    >>> r.labels.tolist()
    ['0-5', '6-18', '19-30', '31-45', '46-65', '66+']
    >>> r.bin([3, 18.9, 70]).tolist()
    ['0-5', '6-18', '66+']
    """

    def __init__(self, ranges="life_stages"):
        if isinstance(ranges, AgeRanges):
            ranges = ranges.lower
        if isinstance(ranges, str):
            if ranges not in PRESETS:
                raise ValueError(
                    f"Unknown age range preset {ranges!r}; choose one of "
                    f"{sorted(PRESETS)} or give a list of lower bounds."
                )
            ranges = PRESETS[ranges]
        lower = np.asarray(ranges)
        if lower.ndim != 1 or len(lower) < 2:
            raise ValueError(
                f"Age ranges need at least two lower bounds in a flat list, got {ranges!r}."
            )
        if lower.dtype.kind not in "iuf" or np.any(lower != np.round(lower)):
            raise ValueError(f"Age range bounds must be whole years, got {ranges!r}.")
        if np.any(lower < 0):
            raise ValueError(f"Age range bounds must be non-negative, got {ranges!r}.")
        if np.any(np.diff(lower) <= 0):
            raise ValueError(
                "Age range bounds must be strictly increasing (sorted, no overlap), "
                f"got {ranges!r}."
            )
        self.lower = lower.astype(int)
        upper = [f"-{bound - 1}" if bound - 1 > low else "" for low, bound in
                 zip(self.lower[:-1], self.lower[1:])]
        self.labels = np.array(
            [f"{low}{up}" for low, up in zip(self.lower[:-1], upper)]
            + [f"{self.lower[-1]}+"]
        )

    def __len__(self):
        return len(self.lower)

    def __repr__(self):
        return f"AgeRanges({self.lower.tolist()})"

    def bin_index(self, ages):
        """Index of the range of each age (ints from 0 to ``len(self) - 1``)."""
        ages = np.asarray(ages, dtype=float)
        return np.clip(np.searchsorted(self.lower, ages, side="right") - 1, 0, None)

    def bin(self, ages):
        """Label of the range of each age."""
        return self.labels[self.bin_index(ages)]

    def index_of_labels(self, labels):
        """Index of each range label; unknown labels raise a ``ValueError``."""
        labels = np.asarray(labels).astype(str)
        lookup = {label: i for i, label in enumerate(self.labels.tolist())}
        unknown = sorted(set(labels.tolist()) - set(lookup))
        if unknown:
            raise ValueError(
                f"Labels {unknown[:5]} are not ranges of {self!r}; expected labels among "
                f"{self.labels.tolist()}."
            )
        return np.array([lookup[label] for label in labels], dtype=int)

    def to_index(self, y):
        """Range index for ``y`` given as ages (numbers) or as range labels (strings)."""
        y = np.asarray(y)
        if y.dtype.kind in "iuf":
            return self.bin_index(y)
        return self.index_of_labels(y)
