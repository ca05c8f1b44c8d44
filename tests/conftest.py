"""Shared fixtures: the real shared faces and small, fast model settings."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from sklearn_age import load_utkface

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("SKLEARN_AGE_DATA", REPO.parent / "shared" / "data" / "utkface_part1"))

#: Settings that keep a real fit on real faces to a second or two.
TINY = dict(img_size=32, max_epochs=1, batch_size=16, random_state=0)


@pytest.fixture(scope="session")
def faces():
    """All shared UTKFace photos (tests fail, not skip, when they are missing)."""
    if not DATA_DIR.is_dir():
        pytest.fail(
            f"The shared faces are missing: {DATA_DIR} does not exist. "
            "Set SKLEARN_AGE_DATA to a UTKFace folder."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_utkface(DATA_DIR)


@pytest.fixture(scope="session")
def small_faces(faces):
    """60 real faces spread over all ages: (paths, ages)."""
    order = np.argsort(faces.age, kind="stable")
    pick = order[np.linspace(0, len(order) - 1, 60).astype(int)]
    rng = np.random.RandomState(0)
    rng.shuffle(pick)
    return faces.paths[pick], faces.age[pick]
