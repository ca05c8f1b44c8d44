"""The ``sklearn-age`` command: train, predict, evaluate, webcam, search.

Argument parsing and printing only; the work is done by the package's modules.
Run ``sklearn-age COMMAND --help`` for each command's options.
"""

import argparse
import csv
import json
import os
import sys
import time
import warnings

import numpy as np

#: File suffixes taken as photos when a folder is given.
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

#: UTKFace's gender codes, as the command line trains and reports them.
GENDER_NAMES = np.array(["male", "female"])

#: UTKFace's ethnicity codes.
ETHNICITY_NAMES = np.array(["White", "Black", "Asian", "Indian", "Others"])

TARGETS = ("age", "ranges", "gender", "age,gender")


class CommandError(Exception):
    """A problem the user can fix: printed as one line, exit status 2."""


def parse_param(text):
    """``"max_epochs=2"`` -> ``("max_epochs", 2)``: ints, floats, booleans, None, strings."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    for cast in (int, float):
        try:
            return name, cast(value)
        except ValueError:
            pass
    return name, {"True": True, "False": False, "None": None}.get(value, value)


# -- data --------------------------------------------------------------------------
def load_faces(data, n_samples=None):
    """Faces of a UTKFace-style folder or a CSV file (``path,age``)."""
    from .datasets import load_image_folder, load_utkface

    if os.path.isfile(data):
        faces = load_image_folder(data)
        if n_samples is not None:
            pick = np.random.RandomState(0).permutation(len(faces.paths))[:n_samples]
            faces = {key: value[pick] for key, value in faces.items()}
        return faces
    if not os.path.isdir(data):
        raise CommandError(f"{data!r} is neither a folder of faces nor a CSV file.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        faces = load_utkface(data, n_samples=n_samples, random_state=0)
    for warning in caught:
        print(f"note: {warning.message}", file=sys.stderr)
    return faces


def photo_paths(inputs, paths_from=None):
    """Photo files from paths, folders (their photos, sorted) and a list file."""
    items = list(inputs)
    if paths_from is not None:
        handle = sys.stdin if paths_from == "-" else open(paths_from, encoding="utf-8")
        with handle:
            items += [line.strip() for line in handle if line.strip()]
    paths = []
    for item in items:
        if os.path.isdir(item):
            paths += sorted(
                os.path.join(item, name) for name in os.listdir(item)
                if name.lower().endswith(PHOTO_SUFFIXES)
            )
        else:
            paths.append(item)
    if not paths:
        raise CommandError("No photos given: pass files or folders, or --paths-from FILE.")
    return paths


def load_model_or_exit(path):
    from .serialization import ModelFileError, load_model

    try:
        return load_model(path)
    except (ModelFileError, OSError) as error:
        raise CommandError(str(error)) from None


# -- output ------------------------------------------------------------------------
def format_value(value):
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1 else f"{value:.1f}"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def write_rows(rows, columns, kind, stream=None):
    """Rows (dicts) as an aligned table, CSV or JSON lines (to standard output by default)."""
    stream = stream or sys.stdout
    if kind == "json":
        for row in rows:
            stream.write(json.dumps({key: row.get(key) for key in columns}) + "\n")
        return
    cells = [[format_value(row.get(key)) for key in columns] for row in rows]
    if kind == "csv":
        writer = csv.writer(stream)
        writer.writerow(columns)
        writer.writerows(cells)
        return
    widths = [max([len(c)] + [len(line[i]) for line in cells]) for i, c in enumerate(columns)]
    for line in [list(columns)] + cells:
        stream.write("  ".join(cell.rjust(width) if i else cell.ljust(width)
                               for i, (cell, width) in enumerate(zip(line, widths))) + "\n")


# -- commands ----------------------------------------------------------------------
def make_estimator(target, params):
    from . import AgeClassifier, AgeGenderEstimator, AgeRegressor, GenderClassifier

    estimator = {"age": AgeRegressor, "ranges": AgeClassifier, "gender": GenderClassifier,
                 "age,gender": AgeGenderEstimator}[target]()
    try:
        return estimator.set_params(**params)
    except ValueError as error:
        raise CommandError(f"--param: {error}") from None


def training_targets(faces, target):
    if target in ("age", "ranges"):
        return faces["age"]
    if "gender" not in faces:
        raise CommandError(
            f"--target {target} needs gender labels: give a UTKFace-style folder "
            "(AGE_GENDER_RACE_DATE.jpg names)."
        )
    gender = GENDER_NAMES[faces["gender"]]
    return gender if target == "gender" else np.column_stack([faces["age"], gender])


def command_train(args):
    from .serialization import save_model

    faces = load_faces(args.data, args.n_samples)
    estimator = make_estimator(args.target, dict(args.param))
    if not args.quiet:
        estimator.set_params(verbose=2)
    y = training_targets(faces, args.target)
    print(f"Training {estimator!r} on {len(faces['paths'])} faces", file=sys.stderr)
    start = time.perf_counter()
    estimator.fit(faces["paths"], y)
    seconds = time.perf_counter() - start
    save_model(estimator, args.output)
    history = estimator.history_
    summary = [
        {"item": "faces", "value": len(faces["paths"])},
        {"item": "model", "value": type(estimator).__name__},
        {"item": "target", "value": args.target},
        {"item": "epochs", "value": estimator.n_epochs_},
        {"item": "final train loss", "value": f"{history[-1, 'train_loss']:.4f}"},
        {"item": "training time", "value": f"{seconds:.0f} s"},
        {"item": "model file", "value": args.output},
        {"item": "file size", "value": f"{os.path.getsize(args.output) / 1e6:.1f} MB"},
    ]
    write_rows(summary, ("item", "value"), "table")
    return 0


#: Parameters that the frozen embedder takes in a ``--fast`` search; the rest go to the head.
EMBEDDER_PARAMS = ("backbone", "pretrained", "img_size")


def search_setup(fast, params):
    """The estimator a search tunes and, for ``--fast``, the embedder run once before it."""
    from . import AgeRegressor, FaceEmbedder

    params = dict(params)
    embedder = None
    if fast:
        embedder = FaceEmbedder(**{key: params.pop(key) for key in EMBEDDER_PARAMS
                                   if key in params})
        params["backbone"] = None
    try:
        return AgeRegressor().set_params(**params), embedder
    except ValueError as error:
        raise CommandError(f"--param: {error}") from None


def trial_report(study, trial):
    """Print one line per trial that ends, with the study's progress and best score."""
    from optuna.trial import TrialState

    from .studies import FINISHED

    if trial.state == TrialState.COMPLETE:
        outcome = f"score {trial.value:.4f}"
    elif trial.state == TrialState.PRUNED:
        outcome = f"pruned after epoch {trial.last_step} of the first fold"
    else:
        outcome = ("not run: the study was full" if trial.user_attrs.get("surplus")
                   else "failed")
    params = ", ".join(f"{key}={value:.3g}" for key, value in trial.params.items())
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: t.value, default=None)
    best = f"; best {best.value:.4f} (trial {best.number})" if best else ""
    print(f"trial {trial.number} {outcome} [{params}]; "
          f"{len(finished)} finished in the study{best}", flush=True)


def command_search(args):
    import optuna
    import torch

    from .search import default_search_space, make_objective
    from .studies import (StudyError, describe_search_space, fill_study, open_storage,
                          open_study)

    if args.n_trials < 1:
        raise CommandError(f"--n-trials must be at least 1, got {args.n_trials}")
    if args.cv < 2:
        raise CommandError(f"--cv must be at least 2 folds, got {args.cv}")
    if args.threads is not None:
        if args.threads < 1:
            raise CommandError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    estimator, embedder = search_setup(args.fast, args.param)
    signature = {"search_space": describe_search_space(default_search_space),
                 "cv": args.cv, "fast": args.fast, "params": dict(args.param),
                 "n_samples": args.n_samples}
    try:
        storage = open_storage(args.storage or f"{args.study_name}.db",
                               heartbeat_interval=args.heartbeat)
        study = open_study(
            args.study_name, storage, signature=signature,
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        )
    except StudyError as error:
        raise CommandError(str(error)) from None
    faces = load_faces(args.data, args.n_samples)
    X = faces["paths"]
    if embedder is not None:
        print(f"Embedding {len(X)} faces once with {embedder!r}", file=sys.stderr)
        X = embedder.fit_transform(X)
    print(f"Study {args.study_name!r}: {args.cv}-fold trials of {estimator!r} on "
          f"{len(X)} faces until {args.n_trials} are finished", file=sys.stderr)
    objective = make_objective(estimator, X, faces["age"], cv=args.cv,
                               prune=not args.no_pruning)
    fill_study(study, objective, args.n_trials, timeout=args.timeout,
               callbacks=[trial_report])
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        print("No trial has finished yet.")
        return 0
    best = study.best_trial
    print(f"best score {best.value:.4f} (negative MAE, trial {best.number} of "
          f"{len(complete)} complete): "
          + ", ".join(f"{key}={value:.4g}" for key, value in best.params.items()))
    return 0


def whole_photo_rows(estimator, paths):
    """One row per photo, the whole photo taken as the face (batched)."""
    from .faces import describe_faces

    columns = describe_faces(estimator, np.asarray(paths, dtype=object))
    return [
        {"photo": path, "face": 1, "box": "whole photo",
         **{key: values[i] for key, values in columns.items()}}
        for i, path in enumerate(paths)
    ]


def detected_rows(estimator, path, faces):
    """One row per detected face of a photo; with ``faces="auto"`` the whole photo if none."""
    from .faces import predict_faces

    records = predict_faces(estimator, path)
    if not records and faces == "auto":
        return whole_photo_rows(estimator, [path])
    if not records:
        return [{"photo": path, "face": 0, "box": "no face found"}]
    return [{"photo": path, "face": i, **record} for i, record in enumerate(records, start=1)]


def prediction_rows(estimator, paths, faces, chunk=256):
    """Rows for all photos, chunk by chunk; unreadable photos are reported and skipped."""
    for begin in range(0, len(paths), chunk):
        part = paths[begin:begin + chunk]
        if faces == "whole":
            yield from _guarded(whole_photo_rows, estimator, part)
        else:
            for path in part:
                yield from _guarded(lambda model, one: detected_rows(model, one[0], faces),
                                    estimator, [path])


def _guarded(rows_for, estimator, paths):
    """``rows_for(estimator, paths)``, narrowing down to the unreadable photos on an error."""
    from .images import ImageLoadError

    try:
        return rows_for(estimator, paths)
    except ImageLoadError as error:
        if len(paths) == 1:
            print(f"error: {error}", file=sys.stderr)
            return [{"photo": paths[0], "face": 0, "box": "unreadable"}]
        step = max(1, len(paths) // 16)
        return [row for begin in range(0, len(paths), step)
                for row in _guarded(rows_for, estimator, paths[begin:begin + step])]


def command_predict(args):
    estimator = load_model_or_exit(args.model)
    paths = photo_paths(args.photos, args.paths_from)
    kind = "json" if args.json else "csv" if args.csv else "table"
    rows = list(prediction_rows(estimator, paths, args.faces))
    columns = ["photo", "face", "box", "age"]
    for extra in ("age_probability", "gender", "gender_probability"):
        if any(extra in row for row in rows):
            columns.append(extra)
    write_rows(rows, columns, kind)
    return 1 if any(row["box"] == "unreadable" for row in rows) else 0


def evaluation_tables(estimator, faces):
    """Overall scores, a per-age-range table, and error per gender / ethnicity."""
    from .faces import describe_faces
    from .metrics import (
        cumulative_score,
        error_by_group,
        mae_per_range,
        range_f1_score,
        range_recall_score,
    )

    predicted = describe_faces(estimator, faces["paths"])
    age = np.asarray(predicted["age"])
    ranges = _model_ranges(estimator)
    scores = [{"metric": "faces", "value": len(age)}]
    tables = []
    if age.dtype.kind == "f":
        scores += [{"metric": "MAE (years)", "value": f"{np.mean(np.abs(age - faces['age'])):.3f}"},
                   {"metric": "CS@5", "value": f"{cumulative_score(faces['age'], age):.3f}"}]
    if age.dtype.kind == "f" and ranges is not None:
        per_range = [{"range": label, "faces": count, "MAE": f"{mae:.2f}"} for label, (mae, count)
                     in mae_per_range(faces["age"], age, ranges).items()]
        tables.append(("Per age range", per_range, ("range", "faces", "MAE")))
    if ranges is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            scores += [
                {"metric": "range recall (macro)",
                 "value": f"{range_recall_score(faces['age'], age, ranges):.3f}"},
                {"metric": "range F1 (macro)",
                 "value": f"{range_f1_score(faces['age'], age, ranges):.3f}"},
            ]
    if "gender" in predicted and "gender" in faces:
        truth = GENDER_NAMES[faces["gender"]]
        scores.append({"metric": "gender accuracy",
                       "value": f"{np.mean(np.asarray(predicted['gender']) == truth):.3f}"})
    if age.dtype.kind == "f":
        for name, codes, names in (("gender", "gender", GENDER_NAMES),
                                   ("ethnicity", "race", ETHNICITY_NAMES)):
            if codes in faces:
                report = error_by_group(faces["age"], age, names[faces[codes]])
                rows = [{name: g, "faces": c, "MAE": f"{m:.2f}", "CS@5": f"{s:.3f}"}
                        for g, c, m, s in zip(report.groups, report.count, report.mae,
                                              report.cs)]
                rows.append({name: f"gap {report.gap:.2f}; worst {report.worst_group} "
                             f"x{report.worst_ratio:.2f} of overall"})
                tables.append((f"Error by {name}", rows, (name, "faces", "MAE", "CS@5")))
    return scores, tables


def _model_ranges(estimator):
    """The age ranges a model predicts or was balanced over, or None for plain labels."""
    from sklearn.pipeline import Pipeline

    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    fitted = getattr(final, "ranges_", None)
    return fitted if fitted is not None else getattr(final, "ranges", None)


def command_evaluate(args):
    estimator = load_model_or_exit(args.model)
    faces = load_faces(args.data, args.n_samples)
    scores, tables = evaluation_tables(estimator, faces)
    write_rows(scores, ("metric", "value"), "table")
    for title, rows, columns in tables:
        print(f"\n{title}")
        write_rows(rows, columns, "table")
    return 0


def command_webcam(args):
    from .webcam import (
        VideoSourceError,
        face_label,
        open_video,
        read_frames,
        stream_predictions,
    )

    estimator = load_model_or_exit(args.model)
    try:
        capture = open_video(args.source)
    except VideoSourceError as error:
        raise CommandError(str(error)) from None
    writer = None
    try:
        for number, (annotated, records, fps) in enumerate(
            stream_predictions(estimator, read_frames(capture, args.max_frames)), start=1
        ):
            writer = writer or _video_writer(args.output, annotated, capture)
            if writer is not None:
                writer.write(annotated[:, :, ::-1])
            if args.show and _show(annotated):
                break
            faces = "; ".join(face_label(record) for record in records) or "no face"
            print(f"frame {number}: {faces} | {fps:.1f} fps", flush=True)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    return 0


def _video_writer(path, frame, capture):
    if path is None:
        return None
    from .faces import _cv2

    cv2 = _cv2()
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    height, width = frame.shape[:2]
    return cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))


def _show(frame):
    """Show a frame in a window; True when the user pressed q or Esc."""
    from .faces import _cv2

    cv2 = _cv2()
    try:
        cv2.imshow("sklearn-age", frame[:, :, ::-1])
    except cv2.error:
        raise CommandError(
            "--show needs OpenCV with a GUI (pip install opencv-python); the headless "
            "build has none. Use --output FILE.avi to record the annotated frames."
        ) from None
    return cv2.waitKey(1) & 0xFF in (ord("q"), 27)


# -- parser ------------------------------------------------------------------------
def build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-age", description="Estimate age from face photos.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a model on labelled faces and save it",
        description="Train on a UTKFace-style folder (labels in the file names) or a CSV "
                    "file with path,age columns, and save a safe .skage model file.")
    train.add_argument("data", metavar="DATA_DIR", help="UTKFace-style folder or CSV file")
    train.add_argument("-o", "--output", required=True, help="model file to write (.skage)")
    train.add_argument("--target", choices=TARGETS, default="age",
                       help="age (years), ranges (life stages), gender, or age,gender "
                            "(one network, two heads); default: age")
    train.add_argument("--n-samples", type=int, help="train on a random subset of this size")
    train.add_argument("--param", action="append", default=[], type=parse_param,
                       metavar="NAME=VALUE", help="estimator parameter, e.g. max_epochs=4")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=command_train)

    predict = commands.add_parser(
        "predict", help="predict the age of every face in photos",
        description="Predict one row per face. Photos may be files or folders; for "
                    "thousands of photos, --paths-from FILE keeps the command line short.")
    predict.add_argument("model", help="model file (.skage)")
    predict.add_argument("photos", nargs="*", metavar="PHOTO_OR_DIR")
    predict.add_argument("--paths-from", metavar="FILE", help="file with one path per line "
                         "('-' for standard input)")
    predict.add_argument("--faces", choices=("auto", "detect", "whole"), default="auto",
                         help="detect faces (auto: the whole photo when none is found); "
                              "whole: each photo is already a face crop (fastest)")
    output = predict.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON lines")
    output.add_argument("--csv", action="store_true", help="CSV")
    predict.set_defaults(run=command_predict)

    evaluate = commands.add_parser(
        "evaluate", help="score a model on labelled faces",
        description="MAE, CS@5, per-age-range scores and, when the file names carry "
                    "them, error by gender and ethnicity.")
    evaluate.add_argument("model", help="model file (.skage)")
    evaluate.add_argument("data", metavar="DATA_DIR", help="UTKFace-style folder or CSV file")
    evaluate.add_argument("--n-samples", type=int, help="a random subset of this size")
    evaluate.set_defaults(run=command_evaluate)

    webcam = commands.add_parser(
        "webcam", help="live ages on a camera or video",
        description="Detect and label faces frame by frame, printing ages and frames per "
                    "second; --output records the annotated video, --show opens a window.")
    webcam.add_argument("model", help="model file (.skage)")
    webcam.add_argument("--source", default="0", help="camera index or video file (default 0)")
    webcam.add_argument("--max-frames", type=int, help="stop after this many frames")
    webcam.add_argument("--output", help="write the annotated frames to this video (.avi)")
    webcam.add_argument("--show", action="store_true", help="show a window (needs GUI OpenCV)")
    webcam.set_defaults(run=command_webcam)

    search = commands.add_parser(
        "search", help="cross-validated hyperparameter search, shareable by many workers",
        description="Create or join an Optuna study and run K-fold trials over lr, "
                    "weight_decay, dropout and l1_lambda until the study holds N finished "
                    "trials. Start the same command on any number of machines with one "
                    "--storage database to share the study.")
    search.add_argument("data", metavar="DATA_DIR", help="UTKFace-style folder or CSV file")
    search.add_argument("--study-name", required=True, help="the study to create or join")
    search.add_argument("--storage", help="database URL (postgresql://user:pw@host/db) or a "
                        "SQLite file; default: STUDY_NAME.db here")
    search.add_argument("--n-trials", type=int, default=20,
                        help="finished trials the study should hold (default 20)")
    search.add_argument("--timeout", type=float, help="start no trial after this many seconds")
    search.add_argument("--cv", type=int, default=5, help="folds per trial (default 5)")
    search.add_argument("--fast", action="store_true", help="search the head on frozen "
                        "embeddings computed once (without it every trial fine-tunes)")
    search.add_argument("--param", action="append", default=[], type=parse_param,
                        metavar="NAME=VALUE", help="fix an estimator parameter, e.g. "
                        "max_epochs=2")
    search.add_argument("--no-pruning", action="store_true", help="run every trial to the "
                        "end (by default a trial whose first fold trails the median stops)")
    search.add_argument("--n-samples", type=int, help="search on a random subset of this size")
    search.add_argument("--threads", type=int, help="torch threads of this worker")
    search.add_argument("--heartbeat", type=int, default=10, metavar="SECONDS",
                        help="seconds between a running trial's heartbeats; a trial silent "
                             "for twice this is failed and re-queued (default 10)")
    search.set_defaults(run=command_search)
    return parser


def main(argv=None):
    """Entry point of the ``sklearn-age`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (CommandError, ValueError, OSError) as error:
        print(f"sklearn-age {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
