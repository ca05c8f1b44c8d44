"""Image decoding and the one input check: the decoder, photo listing and ``check_photos``.

Every photo that enters the package, whether through :class:`~sklearn_age.ImageLoader`,
lazy path loading during ``fit`` or ``predict``, or an exported model, passes through
:func:`read_image`, so EXIF orientation, colour conversion and resizing behave the same
everywhere. This module imports neither torch nor scikit-learn.
"""

import os
import reprlib
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Images above this many pixels are refused (Pillow's decompression-bomb guard).
MAX_PIXELS = 64_000_000


#: Suffixes of the files taken as photos in a folder.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


class ImageLoadError(ValueError):
    """A photo could not be read; the message names the file, its row and the reason."""


def _to_rgb(image):
    """Convert any Pillow mode (L, LA, P, RGBA, CMYK, I;16, I, F, ...) to 8-bit RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        high = 65535.0 if image.mode.startswith("I;16") else max(values.max(), 1.0)
        if image.mode == "I" and values.max() <= 255:
            high = 255.0
        image = Image.fromarray(np.clip(values / high * 255.0, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def _square_resize(image, size):
    """Centre-crop ``image`` to a square and resize it to ``size`` x ``size`` pixels."""
    width, height = image.size
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (size, size):
        image = image.resize((size, size), Image.BILINEAR, reducing_gap=2.0)
    return image


def _decode(path, draft_size=None):
    """Open, check, EXIF-rotate and convert one photo to an RGB Pillow image.

    ``draft_size`` lets a JPEG decode at a reduced scale no smaller than it.
    Every failure is an :class:`ImageLoadError` naming the file and the reason.
    """
    path = os.fspath(path)
    reason = None
    try:
        if os.path.getsize(path) == 0:
            reason = "the file is empty"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as image:
                    if image.width * image.height > MAX_PIXELS:
                        raise Image.DecompressionBombError(
                            f"{image.width}x{image.height} pixels is over the "
                            f"limit of {MAX_PIXELS}"
                        )
                    if draft_size and image.format == "JPEG" and image.mode == "RGB":
                        image.draft("RGB", (draft_size, draft_size))
                    return _to_rgb(ImageOps.exif_transpose(image))
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "it is a directory, not an image file"
    except UnidentifiedImageError:
        reason = "not an image file Pillow can read"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        reason = f"image too large (possible decompression bomb): {exc}"
    except (OSError, SyntaxError, ValueError) as exc:
        reason = f"corrupt or truncated image: {exc}"
    raise ImageLoadError(f"cannot read image {path!r}: {reason}")


def read_image(path, size):
    """Decode one photo into a ``uint8`` RGB array of shape ``(size, size, 3)``.

    The image is rotated by its EXIF orientation, converted to RGB (grayscale, palette,
    RGBA, CMYK and 16-bit photos included), centre-cropped to a square and resized.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    size : int
        Side of the square output, in pixels.

    Returns
    -------
    image : ndarray of shape (size, size, 3), dtype uint8

    Raises
    ------
    ImageLoadError
        If the file is missing, empty, truncated, too large or not an image.
    """
    return np.array(_square_resize(_decode(path, draft_size=size), size))


def read_photo(path):
    """Decode one photo at full resolution into a ``uint8`` RGB array.

    Decoding is that of :func:`read_image` (EXIF orientation, conversion to RGB,
    decompression-bomb guard), without the crop and resize: the array is the upright
    photo as a viewer shows it, for finding faces in it.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.

    Returns
    -------
    photo : ndarray of shape (height, width, 3), dtype uint8

    Raises
    ------
    ImageLoadError
        If the file is missing, empty, truncated, too large or not an image.

    Examples
    --------
    >>> from sklearn_age.images import read_photo
    >>> read_photo("holiday.jpg").shape  # doctest: +SKIP
    (3000, 4000, 3)
    """
    return np.array(_decode(path))


def read_image_at(paths, index, size):
    """Decode ``paths[index]`` with :func:`read_image`, naming the row in any error."""
    try:
        return read_image(paths[index], size)
    except ImageLoadError as exc:
        raise ImageLoadError(f"row {index}: {exc}") from None


def resize_images(images, size):
    """``uint8`` images (an ``(n, H, W, 3)`` batch or a list of ``(H, W, 3)`` arrays of any
    sizes) as one ``(n, size, size, 3)`` batch, each centre-cropped to a square and
    resized like :func:`read_image` (a batch of that size is returned as it is)."""
    if isinstance(images, np.ndarray) and images.shape[1:3] == (size, size):
        return images
    return np.stack(
        [np.asarray(_square_resize(Image.fromarray(image), size)) for image in images]
    )


def _is_data_frame(X):
    return hasattr(X, "iloc") and getattr(X, "ndim", None) == 2


def _path_column(X):
    """``X``, or its one column when it is a column of paths: an ``(n, 1)`` array of
    strings or objects, or a DataFrame (as meta-estimators and column selections give it).
    """
    if _is_data_frame(X):
        if X.shape[1] != 1:
            raise ValueError(
                f"Expected one column of image paths, got a DataFrame with {X.shape[1]} "
                f"columns {list(X.columns)}; select the column of paths."
            )
        return X.iloc[:, 0]
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 1 and X.dtype.kind in "USO":
        return X[:, 0]
    return X


def _is_single_path(X):
    """A bare path (str, bytes, os.PathLike, or a 0-d array holding one)."""
    if isinstance(X, np.ndarray) and X.ndim == 0 and X.dtype.kind in "USO":
        X = X.item()
    return isinstance(X, (str, bytes, os.PathLike))


def is_path_list(X):
    """True if ``X`` is given as image paths (str or os.PathLike) rather than images.

    That is a 1-D sequence holding paths (numpy array, list, pandas Series), one column
    of them (an ``(n, 1)`` array or a DataFrame), or a single path, which
    :func:`check_photos` then refuses with a clear message.
    """
    if _is_single_path(X) or _is_data_frame(X):
        return True
    X = _path_column(X)
    if isinstance(X, np.ndarray):
        return X.ndim == 1 and X.dtype.kind in "USO"
    try:
        return any(isinstance(item, (str, os.PathLike)) for item in X)
    except TypeError:
        return False


def check_photos(X):
    """The one input check for photos, used by every estimator and transformer.

    Parameters
    ----------
    X : sequence of paths, or uint8 images
        Paths (str or os.PathLike) in a list, a numpy array, a pandas Series or one
        column of a DataFrame; or ``uint8`` RGB images: an array ``(n, H, W, 3)`` or a
        list of ``(H, W, 3)`` arrays, of any sizes.

    Returns
    -------
    photos : ndarray or list
        The paths as a 1-D object array (each file exists, see :func:`holds_paths`);
        or the images as given: a ``uint8`` array ``(n, H, W, 3)`` or a list of
        arrays (not copied into one, so that large photos stay where they are).

    Raises
    ------
    ValueError
        If ``X`` is a single path (it must be wrapped in a list), is empty, or a row is
        neither a path nor a ``uint8`` RGB image; the message names the row.
    ImageLoadError
        If a path does not exist; the message names it and its row.
    """
    if _is_single_path(X):
        path = X.item() if isinstance(X, np.ndarray) else X
        raise ValueError(
            f"Expected a list of image paths, got a single path {os.fspath(path)!r}; "
            "wrap it in a list."
        )
    if hasattr(X, "__len__") and len(X) == 0:
        raise ValueError("Found array with 0 sample(s): X holds 0 photos.")
    if is_path_list(X):
        return _check_paths(X)
    if isinstance(X, np.ndarray):
        return _check_image_batch(X)
    images = list(X)
    for row, image in enumerate(images):
        _check_image(image, row)
    return images


def holds_paths(photos):
    """Whether photos that :func:`check_photos` returned are paths (else images)."""
    return isinstance(photos, np.ndarray) and photos.dtype == object


def _check_paths(X):
    """Paths as a 1-D object array; rows that are not paths, and missing files, are errors."""
    paths = []
    for row, path in enumerate(_path_column(X)):
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise ValueError(
                f"row {row}: expected an image path (str or os.PathLike), "
                f"got {reprlib.repr(path)}."
            )
        paths.append(os.fspath(path))
    paths = np.asarray(paths, dtype=object)
    for row, path in enumerate(paths):
        if not os.path.isfile(path):
            raise ImageLoadError(f"row {row}: cannot read image {path!r}: no such file")
    return paths


def _check_image_batch(X):
    if X.ndim != 4 or X.shape[-1] != 3:
        raise ValueError(
            "Expected images as an array of shape (n_samples, height, width, 3), "
            f"got shape {X.shape}."
        )
    if X.dtype != np.uint8:
        raise ValueError(f"Expected images of dtype uint8, got {X.dtype}.")
    return X


def _check_image(image, row):
    if not (isinstance(image, np.ndarray) and image.dtype == np.uint8
            and image.ndim == 3 and image.shape[2] == 3):
        raise ValueError(
            f"row {row}: expected a uint8 RGB array of shape (height, width, 3) "
            f"or an image path, got {_describe(image)}."
        )


def _describe(image):
    if isinstance(image, np.ndarray):
        return f"an array of shape {image.shape} and dtype {image.dtype}"
    return f"a {type(image).__name__}"


def list_photos(items):
    """Photo files of paths and folders: each folder gives its photos, sorted by name.

    Parameters
    ----------
    items : iterable of str or os.PathLike
        Photo files (kept as given, in order, whatever their suffix) and folders (their
        files ending in a photo suffix such as ``.jpg`` or ``.png``; subfolders are not
        searched).

    Returns
    -------
    paths : list of str

    Examples
    --------
    >>> from sklearn_age import list_photos
    >>> list_photos(["party.jpg", "holiday/"])  # doctest: +SKIP
    ['party.jpg', 'holiday/beach.jpg', 'holiday/hotel.png']
    """
    paths = []
    for item in map(os.fspath, items):
        if os.path.isdir(item):
            paths += sorted(os.path.join(item, name) for name in os.listdir(item)
                            if name.lower().endswith(PHOTO_SUFFIXES))
        else:
            paths.append(item)
    return paths
