"""The ``sklearn-age`` command: train, predict, evaluate, webcam, search.

Argument parsing and printing only; the work is done by the package's modules, which
each command imports when it runs (``sklearn-age --help`` imports none of them).
Run ``sklearn-age COMMAND --help`` for each command's options.
"""

import argparse
import csv
import json
import os
import sys
import time
import warnings

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
    """Faces of a UTKFace-style folder or a CSV file (``path,age``); warnings as notes."""
    from .datasets import load_faces as load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        faces = load(data, n_samples=n_samples, random_state=0)
    for warning in caught:
        print(f"note: {warning.message}", file=sys.stderr)
    return faces


def photo_paths(inputs, paths_from=None):
    """Photo files from paths, folders (their photos, sorted) and a list file."""
    from .images import list_photos

    items = list(inputs)
    if paths_from is not None:
        handle = sys.stdin if paths_from == "-" else open(paths_from, encoding="utf-8")
        with handle:
            items += [line.strip() for line in handle if line.strip()]
    paths = list_photos(items)
    if not paths:
        raise CommandError("No photos given: pass files or folders, or --paths-from FILE.")
    return paths


#: Suffixes of model files: the first argument of ``predict`` is a model if it has one.
MODEL_SUFFIXES = (".skage", ".onnx")


def load_model_or_exit(path):
    """A model file (``.skage``), an exported ``.onnx`` one (no PyTorch imported), or
    the shipped ready-trained model when ``path`` is None."""
    from .exceptions import ModelFileError

    try:
        if path is None:
            from .pretrained import load_pretrained

            return load_pretrained()
        if str(path).lower().endswith(".onnx"):
            from .onnx_model import load_onnx as load
        else:
            from .serialization import load_model as load
        return load(path)
    except (ModelFileError, OSError) as error:
        raise CommandError(str(error)) from None


def split_model(inputs):
    """``(model file or None, photos)`` from ``predict``'s arguments."""
    if inputs and str(inputs[0]).lower().endswith(MODEL_SUFFIXES):
        return inputs[0], inputs[1:]
    return None, inputs


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
    import numpy as np

    from .datasets import GENDER_NAMES

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


def print_trial(study, trial):
    """Optuna callback: one line per trial that ends."""
    from .studies import describe_trial

    print(describe_trial(study, trial), flush=True)


def command_search(args):
    import optuna
    import torch

    from .search import default_search_space, make_objective, search_estimators
    from .studies import (StudyError, describe_best_trial, describe_search_space,
                          fill_study, open_storage, open_study)

    if args.n_trials < 1:
        raise CommandError(f"--n-trials must be at least 1, got {args.n_trials}")
    if args.cv < 2:
        raise CommandError(f"--cv must be at least 2 folds, got {args.cv}")
    if args.threads is not None:
        if args.threads < 1:
            raise CommandError(f"--threads must be at least 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        estimator, embedder = search_estimators(dict(args.param), fast=args.fast)
    except ValueError as error:
        raise CommandError(f"--param: {error}") from None
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
               callbacks=[print_trial])
    print(describe_best_trial(study, "negative MAE") or "No trial has finished yet.")
    return 0


def command_predict(args):
    from .prediction import predict_photos

    model, photos = split_model(args.inputs)
    estimator = load_model_or_exit(model)
    paths = photo_paths(photos, args.paths_from)
    kind = "json" if args.json else "csv" if args.csv else "table"
    result = predict_photos(estimator, paths, faces=args.faces)
    for _, message in result.errors:
        print(f"error: {message}", file=sys.stderr)
    columns = ["photo", "face", "box", "age"]
    for extra in ("age_probability", "gender", "gender_probability"):
        if any(extra in row for row in result.rows):
            columns.append(extra)
    write_rows(result.rows, columns, kind)
    return 1 if result.errors else 0


#: Labels of the overall scores of an evaluation, in the order they are printed.
SCORE_LABELS = {"mae": "MAE (years)", "cs": "CS@5", "range_recall": "range recall (macro)",
                "range_f1": "range F1 (macro)", "gender_accuracy": "gender accuracy"}


def score_rows(report):
    """The overall scores of an evaluation report that apply, as table rows."""
    return [{"metric": "faces", "value": report.n_faces}] + [
        {"metric": label, "value": f"{report[key]:.3f}"}
        for key, label in SCORE_LABELS.items() if report[key] is not None
    ]


def range_rows(mae_per_range):
    """Table rows of the error per age range."""
    return [{"range": label, "faces": count, "MAE": f"{mae:.2f}"}
            for label, (mae, count) in mae_per_range.items()]


def group_rows(name, errors):
    """Table rows of an ``error_by_group`` report, and a last row on its gap."""
    rows = [{name: g, "faces": c, "MAE": f"{m:.2f}", "CS@5": f"{s:.3f}"}
            for g, c, m, s in zip(errors.groups, errors.count, errors.mae, errors.cs)]
    rows.append({name: f"gap {errors.gap:.2f}; worst {errors.worst_group} "
                 f"x{errors.worst_ratio:.2f} of overall"})
    return rows


def command_evaluate(args):
    from .evaluation import evaluate_model

    estimator = load_model_or_exit(args.model)
    faces = load_faces(args.data, args.n_samples)
    report = evaluate_model(estimator, faces)
    write_rows(score_rows(report), ("metric", "value"), "table")
    if report.mae_per_range is not None:
        print("\nPer age range")
        write_rows(range_rows(report.mae_per_range), ("range", "faces", "MAE"), "table")
    for name in ("gender", "ethnicity"):
        errors = report[f"error_by_{name}"]
        if errors is not None:
            print(f"\nError by {name}")
            write_rows(group_rows(name, errors), (name, "faces", "MAE", "CS@5"), "table")
    return 0


def command_webcam(args):
    from .faces import FaceCropper
    from .webcam import (
        VideoDisplayError,
        VideoSourceError,
        face_label,
        open_video,
        open_video_writer,
        read_frames,
        show_frame,
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
            stream_predictions(estimator, read_frames(capture, args.max_frames),
                               FaceCropper(detection_size=args.detection_size)), start=1
        ):
            if writer is None and args.output is not None:
                writer = open_video_writer(args.output, annotated, capture)
            if writer is not None:
                writer.write(annotated[:, :, ::-1])
            if args.show and show_frame(annotated):
                break
            faces = "; ".join(face_label(record) for record in records) or "no face"
            print(f"frame {number}: {faces} | {fps:.1f} fps", flush=True)
    except VideoDisplayError as error:
        raise CommandError(f"--show: {error}. Use --output FILE.avi to record the "
                           "annotated frames.") from None
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    return 0


def command_export(args):
    from .serialization import export_onnx

    estimator = load_model_or_exit(args.model)
    calibration = None
    if args.quantize:
        if not (args.calibration or args.calibration_from):
            raise CommandError("--quantize needs calibration faces: --calibration PHOTO_OR_DIR "
                               "or --calibration-from FILE (a few hundred training faces).")
        calibration = photo_paths(args.calibration, args.calibration_from)
    export_onnx(estimator, args.output, quantize=args.quantize, calibration=calibration)
    kind = "int8" if args.quantize else "float32"
    print(f"Wrote {args.output} ({kind}); predict with: sklearn-age predict {args.output} "
          "PHOTO", file=sys.stderr)
    return 0


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
                    "thousands of photos, --paths-from FILE keeps the command line short. "
                    "Without a model file, the shipped ready-trained model (age and "
                    "gender) predicts.")
    predict.add_argument("inputs", nargs="*", metavar="PHOTO_OR_DIR",
                         help="a model file first if any (.skage, or .onnx from export; "
                              "default: the shipped model), then photos or folders")
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
    evaluate.add_argument("model", help="model file (.skage, or .onnx from export)")
    evaluate.add_argument("data", metavar="DATA_DIR", help="UTKFace-style folder or CSV file")
    evaluate.add_argument("--n-samples", type=int, help="a random subset of this size")
    evaluate.set_defaults(run=command_evaluate)

    webcam = commands.add_parser(
        "webcam", help="live ages on a camera or video",
        description="Detect and label faces frame by frame, printing ages and frames per "
                    "second; --output records the annotated video, --show opens a window.")
    webcam.add_argument("model", nargs="?", help="model file (.skage, or .onnx from export; "
                        "default: the shipped ready-trained model)")
    webcam.add_argument("--source", default="0", help="camera index or video file (default 0)")
    webcam.add_argument("--max-frames", type=int, help="stop after this many frames")
    webcam.add_argument("--detection-size", type=int, default=320, metavar="PIXELS",
                        help="longest side of the frame copy searched for faces (default "
                             "320: faces of 48+ pixels in 640x480; larger finds smaller "
                             "faces, more slowly)")
    webcam.add_argument("--output", help="write the annotated frames to this video (.avi)")
    webcam.add_argument("--show", action="store_true", help="show a window (needs GUI OpenCV)")
    webcam.set_defaults(run=command_webcam)

    export = commands.add_parser(
        "export", help="export a model to ONNX (float32 or int8)",
        description="Write the network, its preprocessing and output layers as one ONNX "
                    "file, which predict, evaluate and webcam run without PyTorch (a "
                    "quick start). --quantize writes an int8 graph, calibrated on faces.")
    export.add_argument("model", help="model file (.skage)")
    export.add_argument("output", help="ONNX file to write (.onnx)")
    export.add_argument("--quantize", action="store_true", help="int8 (needs calibration faces)")
    export.add_argument("--calibration", nargs="*", default=[], metavar="PHOTO_OR_DIR",
                        help="calibration faces for --quantize")
    export.add_argument("--calibration-from", metavar="FILE",
                        help="file with one calibration photo path per line")
    export.set_defaults(run=command_export)

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
