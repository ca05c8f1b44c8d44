"""Photos and a video of several real faces, for the speed benchmark's detection rows.

The shared faces are crops; a group photo or a webcam frame is a larger scene with a
few faces in it. These scenes paste real UTKFace faces (100-170 pixels wide, as a face
at arm's length from a webcam) onto scikit-learn's sample photo ``china.jpg`` resized to
640x480, the size of a webcam frame. Everything is drawn from a fixed seed.
"""

import os

import numpy as np
from PIL import Image
from sklearn.datasets import load_sample_image

WIDTH, HEIGHT = 640, 480


def _background():
    return Image.fromarray(load_sample_image("china.jpg")).resize((WIDTH, HEIGHT))


def _placements(rng, count):
    """``count`` non-overlapping (x, y, side) squares, left to right across the frame."""
    slot = WIDTH // count
    placements = []
    for index in range(count):
        side = int(rng.integers(100, min(170, slot - 10) + 1))
        x = index * slot + int(rng.integers(0, slot - side + 1))
        y = int(rng.integers(0, HEIGHT - side + 1))
        placements.append((x, y, side))
    return placements


def _paste(background, faces, placements):
    scene = background.copy()
    for face, (x, y, side) in zip(faces, placements):
        scene.paste(face.resize((side, side), Image.BILINEAR), (x, y))
    return scene


def group_photos(face_paths, folder, count, seed=0):
    """Write ``count`` JPEG scenes of one to three faces each; return their paths and
    the number of faces in each."""
    rng = np.random.default_rng(seed)
    background = _background()
    paths, n_faces = [], []
    for index in range(count):
        n = int(rng.integers(1, 4))
        picked = rng.choice(len(face_paths), size=n, replace=False)
        faces = [Image.open(face_paths[i]).convert("RGB") for i in picked]
        path = os.path.join(folder, f"group_{index:04d}.jpg")
        _paste(background, faces, _placements(rng, n)).save(path, quality=90)
        paths.append(path)
        n_faces.append(n)
    return paths, n_faces


def record_video(face_paths, path, seconds=10, fps=30, seed=0):
    """Write a 640x480 Motion-JPEG video: a third of it with one face, a third with two,
    a third with three, each drifting a few pixels a frame. Returns the frame count."""
    import cv2

    rng = np.random.default_rng(seed)
    background = _background()
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))
    frames = seconds * fps
    for count in (1, 2, 3):
        picked = rng.choice(len(face_paths), size=count, replace=False)
        faces = [Image.open(face_paths[i]).convert("RGB") for i in picked]
        start = _placements(rng, count)
        for step in range(frames // 3):
            shift = int(8 * np.sin(step / 10))  # a gentle sway
            moved = [(x + shift, min(max(y + shift, 0), HEIGHT - side), side)
                     for x, y, side in start]
            writer.write(np.asarray(_paste(background, faces, moved))[:, :, ::-1])
    writer.release()
    return 3 * (frames // 3)
