"""Errors of model files, shared by the modules that read them (with or without torch)."""


class ModelFileError(ValueError):
    """A model file is damaged, from another format version, or not a model file."""
