"""Shared fixtures: the real shared faces and small, fast model settings."""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from sklearn_age import load_utkface
from sklearn_age.images import read_photo
from tests.postgres import MissingPostgres, create_database, throwaway_postgres

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(
    os.environ.get("SKLEARN_AGE_DATA", REPO.parent / "shared" / "data" / "utkface_part1")
)

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


#: Three faces (x, y, side) on a 1200 x 800 background; the largest is in the middle.
GROUP = [(450, 120, 320), (60, 330, 160), (900, 430, 220)]


@pytest.fixture(scope="session")
def background():
    return Image.fromarray(load_sample_image("china.jpg")).resize((1200, 800))


@pytest.fixture(scope="session")
def chips(small_faces):
    """Eight real faces as Pillow images, with their ages."""
    paths, ages = small_faces
    return [Image.fromarray(read_photo(path)) for path in paths[:8]], ages[:8]


def paste_faces(background, chips, placements):
    """The background with ``chips[i]`` pasted at ``placements[i] = (x, y, side)``."""
    photo = background.copy()
    for chip, (x, y, side) in zip(chips, placements):
        photo.paste(chip.resize((side, side), Image.BILINEAR), (x, y))
    return photo


def save_image(image, path, **kwargs):
    image.save(path, **kwargs)
    return str(path)


@pytest.fixture(scope="session")
def group_photo(background, chips, tmp_path_factory):
    path = tmp_path_factory.mktemp("photos") / "group.jpg"
    return save_image(paste_faces(background, chips[0], GROUP), path, quality=90)


# -- a throwaway PostgreSQL server ---------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server():
    """Base URL of a throwaway PostgreSQL server (see ``tests/postgres.py``)."""
    try:
        with throwaway_postgres() as url:
            yield url
    except MissingPostgres as error:
        pytest.fail(str(error))


@pytest.fixture
def postgres_url(postgres_server, request):
    """URL of a new, empty database on the test server (no Optuna tables yet)."""
    name = "db_" + "".join(c if c.isalnum() else "_" for c in request.node.name).lower()[:50]
    return create_database(postgres_server, name)
