"""Live estimation on a camera or video: every face boxed and labelled, frames per second.

Frames come from OpenCV's ``VideoCapture`` (a camera index or a video file) or from
any iterable of RGB frames, so the loop runs the same on a recorded clip as on a
camera. Needs OpenCV: ``pip install "sklearn-age[faces]"``.
"""

import os
import time

import numpy as np

from .faces import FaceCropper, _cv2, pipeline_cropper, predict_faces

#: Longest side of the frame copy searched for faces, by default: faces of 48 pixels and
#: more in a 640x480 frame are found, at 39 frames per second on the benchmark's 2 cores
#: (12 at 640, FaceCropper's default for photos, where faces may be smaller).
VIDEO_DETECTION_SIZE = 320


class VideoSourceError(OSError):
    """A camera or video that cannot be opened or read."""


class VideoDisplayError(RuntimeError):
    """Frames cannot be shown in a window: the installed OpenCV has no GUI."""


def open_video(source):
    """Open a camera (by index) or a video file.

    Parameters
    ----------
    source : int or str
        Camera index (``0`` is the default camera; a string of digits counts as an
        index) or a video file path.

    Returns
    -------
    capture : cv2.VideoCapture
        Opened and delivering frames.

    Raises
    ------
    VideoSourceError
        If nothing can be read from ``source``.
    """
    cv2 = _cv2()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # we explain failures
    index = int(source) if str(source).isdigit() else None
    capture = cv2.VideoCapture(index if index is not None else str(source))
    if not capture.isOpened() or not capture.grab():
        capture.release()
        what = f"camera {index}" if index is not None else f"video file {str(source)!r}"
        raise VideoSourceError(
            f"Cannot read from {what}: no such device or file, or it is in use. "
            "List cameras with `ls /dev/video*` (Linux), or pass a video file."
        )
    if index is None:  # a file starts again at its first frame, which grab() took
        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return capture


def read_frames(capture, max_frames=None):
    """RGB frames of an opened capture, until it ends or ``max_frames`` are read.

    Parameters
    ----------
    capture : cv2.VideoCapture
    max_frames : int or None, default=None

    Yields
    ------
    frame : ndarray of shape (height, width, 3), dtype uint8
    """
    cv2 = _cv2()
    count = 0
    while max_frames is None or count < max_frames:
        ok, frame = capture.read()
        if not ok:
            return
        count += 1
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def face_label(record):
    """Short text for one face record of :func:`~sklearn_age.predict_faces`.

    Examples
    --------
    >>> face_label({"box": (0, 0, 9, 9), "age": 31.44, "gender": "female",
    ...             "gender_probability": 0.93})
    '31 y, female 93%'
    >>> face_label({"box": (0, 0, 9, 9), "age": "19-30", "age_probability": 0.8})
    '19-30 (80%)'
    """
    age = record["age"]
    text = f"{age:.0f} y" if isinstance(age, float) else str(age)
    if "age_probability" in record:
        text += f" ({record['age_probability']:.0%})"
    if "gender" in record:
        text += f", {record['gender']} {record['gender_probability']:.0%}"
    return text


def annotate(frame, records, fps=None):
    """A copy of ``frame`` with a box and a label for each face, and the frame rate.

    Parameters
    ----------
    frame : ndarray of shape (height, width, 3), dtype uint8
        RGB.
    records : list of dict
        Faces as :func:`~sklearn_age.predict_faces` returns them.
    fps : float or None, default=None
        Frames per second, written in the top-left corner.

    Returns
    -------
    annotated : ndarray of shape (height, width, 3), dtype uint8
    """
    cv2 = _cv2()
    out = np.ascontiguousarray(frame).copy()
    for record in records:
        x, y, width, height = record["box"]
        cv2.rectangle(out, (x, y), (x + width, y + height), (0, 255, 0), 2)
        cv2.putText(out, face_label(record), (x, max(y - 6, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 0), 1, cv2.LINE_AA)
    if fps is not None:
        cv2.putText(out, f"{fps:.1f} fps", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (255, 255, 0), 1, cv2.LINE_AA)
    return out


def stream_predictions(estimator, frames, cropper=None):
    """Predict every face of every frame, timing the loop.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        As for :func:`~sklearn_age.predict_faces`.
    frames : iterable of ndarray of shape (height, width, 3), dtype uint8
        RGB frames, such as :func:`read_frames` gives.
    cropper : FaceCropper, default=None
        Detection settings; by default ``FaceCropper(detection_size=320)``
        (:data:`VIDEO_DETECTION_SIZE`), or the pipeline's own cropper.

    Yields
    ------
    annotated : ndarray
        The frame with boxes, labels and the frame rate drawn in.
    records : list of dict
        The faces of the frame.
    fps : float
        Frames per second over the frames so far (detection and prediction).
    """
    if cropper is None and pipeline_cropper(estimator) is None:
        cropper = FaceCropper(detection_size=VIDEO_DETECTION_SIZE)
    start = time.perf_counter()
    for count, frame in enumerate(frames, start=1):
        records = predict_faces(estimator, frame, cropper)
        fps = count / max(time.perf_counter() - start, 1e-9)
        yield annotate(frame, records, fps), records, fps


def open_video_writer(path, frame, capture=None):
    """A Motion-JPEG video file for frames the size of ``frame``.

    Parameters
    ----------
    path : str or os.PathLike
        The video file to write (``.avi``).
    frame : ndarray of shape (height, width, 3)
        A frame of the size all frames will have.
    capture : cv2.VideoCapture or None, default=None
        The source, whose frame rate the video takes (10 frames per second when it
        has none or is not given).

    Returns
    -------
    writer : cv2.VideoWriter
        Takes BGR frames, as OpenCV does: ``writer.write(rgb[:, :, ::-1])``; call
        ``writer.release()`` at the end.

    Examples
    --------
    >>> from sklearn_age.webcam import open_video, open_video_writer, read_frames
    >>> capture = open_video("clip.mp4")  # doctest: +SKIP
    >>> frames = list(read_frames(capture))  # doctest: +SKIP
    >>> writer = open_video_writer("copy.avi", frames[0], capture)  # doctest: +SKIP
    """
    cv2 = _cv2()
    fps = (capture.get(cv2.CAP_PROP_FPS) if capture is not None else 0) or 10.0
    height, width = frame.shape[:2]
    return cv2.VideoWriter(os.fspath(path), cv2.VideoWriter_fourcc(*"MJPG"), fps,
                           (width, height))


def show_frame(frame, title="sklearn-age"):
    """Show an RGB frame in a window, and tell whether the user asked to stop.

    Parameters
    ----------
    frame : ndarray of shape (height, width, 3), dtype uint8
        RGB.
    title : str, default="sklearn-age"
        The window's title; frames shown under one title replace each other.

    Returns
    -------
    stop : bool
        True when the user pressed q or Esc.

    Raises
    ------
    VideoDisplayError
        If OpenCV has no GUI (the headless build).

    Examples
    --------
    >>> from sklearn_age.webcam import show_frame
    >>> show_frame(annotated)  # doctest: +SKIP
    False
    """
    cv2 = _cv2()
    try:
        cv2.imshow(title, frame[:, :, ::-1])
    except cv2.error:
        raise VideoDisplayError(
            "showing frames needs OpenCV with a GUI (pip install opencv-python); the "
            "headless build has none"
        ) from None
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)
