"""Loaders for labelled face folders: UTKFace file names and CSV files of path, age."""

import csv
import os
import re
import warnings

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .images import PHOTO_SUFFIXES

_UTKFACE_NAME = re.compile(r"^(\d+)_([01])_([0-4])_\d+\.jpg(\.chip\.jpg)?$")

#: UTKFace's gender codes: ``GENDER_NAMES[faces.gender]`` names them.
GENDER_NAMES = np.array(["male", "female"])

#: UTKFace's ethnicity (``race``) codes.
ETHNICITY_NAMES = np.array(["White", "Black", "Asian", "Indian", "Others"])

_GET_UTKFACE = (
    "UTKFace is available from https://susanqq.github.io/UTKFace/ (non-commercial "
    "research use); unpack it and pass the folder, or set SKLEARN_AGE_DATA."
)


def default_data_dir():
    """The face folder to use when none is given.

    ``$SKLEARN_AGE_DATA`` if set, else ``../shared/data/utkface_part1`` relative to the
    current directory.
    """
    return os.environ.get(
        "SKLEARN_AGE_DATA", os.path.join("..", "shared", "data", "utkface_part1")
    )


def _check_folder(folder):
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Face folder {folder!r} does not exist. {_GET_UTKFACE}")
    return folder


def load_utkface(folder=None, n_samples=None, random_state=None):
    """Load a UTKFace-style folder: labels are read from the file names.

    Names follow ``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`` (gender 0 male, 1 female;
    race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others). Files whose names do not
    follow it are left out, listed in ``skipped`` and reported in one warning.

    Parameters
    ----------
    folder : str or os.PathLike, default=None
        The folder; by default :func:`default_data_dir`.
    n_samples : int or None, default=None
        Load a random subset of this many faces (all when None or larger).
    random_state : int, RandomState instance or None, default=None
        Seed of the subset.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``paths`` (ndarray of str, sorted), ``age``, ``gender`` and ``race`` (int
        ndarrays), ``skipped`` (list of ``(file name, reason)``) and ``folder``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If it holds no photo with a parsable name.

    Examples
    --------
    >>> from sklearn_age import load_utkface
    >>> faces = load_utkface("UTKFace")  # doctest: +SKIP
    >>> faces.paths.shape, faces.age.shape  # doctest: +SKIP
    ((7812,), (7812,))
    """
    folder = _check_folder(folder if folder is not None else default_data_dir())
    paths, labels, skipped = [], [], []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith(PHOTO_SUFFIXES):
            continue
        match = _UTKFACE_NAME.match(name)
        if match is None:
            skipped.append(
                (name, "name is not AGE_GENDER_RACE_DATETIME.jpg[.chip.jpg]")
            )
            continue
        paths.append(os.path.join(folder, name))
        labels.append([int(match.group(i)) for i in (1, 2, 3)])
    if not paths:
        raise ValueError(
            f"Face folder {folder!r} holds no photo named like UTKFace "
            f"(AGE_GENDER_RACE_DATETIME.jpg.chip.jpg); {len(skipped)} other image "
            f"file(s) were found. {_GET_UTKFACE}"
        )
    if skipped:
        examples = ", ".join(name for name, _ in skipped[:3])
        warnings.warn(
            f"load_utkface skipped {len(skipped)} file(s) whose names could not be "
            f"parsed (e.g. {examples}); see the 'skipped' field.",
            UserWarning,
            stacklevel=2,
        )
    keep = _subset(len(paths), n_samples, random_state)
    labels = np.asarray(labels, dtype=int)[keep]
    paths = np.asarray(paths)[keep]
    return Bunch(
        paths=paths,
        age=labels[:, 0],
        gender=labels[:, 1],
        race=labels[:, 2],
        skipped=skipped,
        folder=folder,
    )


def _subset(n_faces, n_samples, random_state):
    """Rows of a random subset of ``n_samples`` faces, in their order (all when None)."""
    if n_samples is None or n_samples >= n_faces:
        return np.arange(n_faces)
    return np.sort(check_random_state(random_state).permutation(n_faces)[:n_samples])


def load_image_folder(csv_path, n_samples=None, random_state=None):
    """Load faces listed in a CSV file with the columns ``path`` and ``age``.

    Relative paths are taken relative to the CSV file's folder.

    Parameters
    ----------
    csv_path : str or os.PathLike
        The CSV file, with a header row naming at least ``path`` and ``age``.
    n_samples : int or None, default=None
        As in :func:`load_utkface`: a random subset, kept in file order.
    random_state : int, RandomState instance or None, default=None
        Seed of the subset.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``paths`` (ndarray of str) and ``age`` (float ndarray).

    Raises
    ------
    ValueError
        If a column is missing, or a row has an age that is not a non-negative number
        (the message names the row).

    Examples
    --------
    >>> from sklearn_age import load_image_folder
    >>> faces = load_image_folder("faces.csv")  # doctest: +SKIP
    """
    csv_path = os.fspath(csv_path)
    base = os.path.dirname(os.path.abspath(csv_path))
    with open(csv_path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "age"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(
                f"{csv_path!r} lacks the column(s) {sorted(missing)}; expected a header "
                "row with 'path' and 'age'."
            )
        paths, ages = [], []
        for line, row in enumerate(reader, start=2):
            try:
                age = float(row["age"])
            except (TypeError, ValueError):
                age = float("nan")
            if not np.isfinite(age) or age < 0:
                raise ValueError(
                    f"{csv_path!r} line {line}: age {row['age']!r} is not a "
                    "non-negative number."
                )
            paths.append(os.path.join(base, row["path"]))
            ages.append(age)
    if not paths:
        raise ValueError(f"{csv_path!r} lists no faces.")
    keep = _subset(len(paths), n_samples, random_state)
    return Bunch(paths=np.asarray(paths)[keep], age=np.asarray(ages)[keep])


def load_faces(data, n_samples=None, random_state=None):
    """Load labelled faces from a UTKFace-style folder or a CSV file of ``path, age``.

    Parameters
    ----------
    data : str or os.PathLike
        A folder, read by :func:`load_utkface`, or a CSV file, read by
        :func:`load_image_folder`.
    n_samples, random_state
        As in :func:`load_utkface`: the size and seed of a random subset.

    Returns
    -------
    data : sklearn.utils.Bunch
        As :func:`load_utkface` or :func:`load_image_folder` returns it: ``paths`` and
        ``age`` always, ``gender`` and ``race`` from a UTKFace folder.

    Raises
    ------
    FileNotFoundError
        If ``data`` is neither a folder nor a file.

    Examples
    --------
    >>> from sklearn_age import load_faces
    >>> faces = load_faces("faces.csv", n_samples=100, random_state=0)  # doctest: +SKIP
    """
    data = os.fspath(data)
    if os.path.isfile(data):
        return load_image_folder(data, n_samples=n_samples, random_state=random_state)
    if not os.path.isdir(data):
        raise FileNotFoundError(f"{data!r} is neither a folder of faces nor a CSV file.")
    return load_utkface(data, n_samples=n_samples, random_state=random_state)
