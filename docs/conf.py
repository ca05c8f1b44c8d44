"""Sphinx configuration for sklearn-age."""

import os
import warnings

import sklearn_age

project = "sklearn-age"
author = "the sklearn-age developers"
copyright = "2026, the sklearn-age developers"
release = version = sklearn_age.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

html_theme = "pydata_sphinx_theme"
html_title = "sklearn-age"
html_theme_options = {"navigation_with_keys": False, "show_prev_next": False}

# The gallery runs every example on a small subset of the shared faces; set
# SKLEARN_AGE_EXAMPLE_FACES to a larger number (or the full 7811) for the full set.
os.environ.setdefault("SKLEARN_AGE_EXAMPLE_FACES", "200")
os.environ.setdefault("SKLEARN_AGE_DATA", os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "utkface_part1"))
warnings.filterwarnings("ignore", category=UserWarning, message=".*non-interactive.*")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("sklearn_age",),
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "matplotlib_animations": False,
}


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_*_request`` methods (their docstrings
    link into scikit-learn's own glossary, which is not part of these docs)."""
    return True if name.endswith("_request") else None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
