"""Load the model layer once, refusing anything that is not exactly what metadata.json describes.

Order matters: metadata and every file's sha256 are checked BEFORE anything is unpickled
(unpickling runs code), and before numpy/scikit-learn are even imported, so a corrupt or
mismatched layer fails INIT fast with a message naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from typing import Any

SCHEMA_VERSION = 1
_CHUNK = 1 << 20


class ModelInitError(RuntimeError):
    """The model layer cannot be trusted or loaded; the execution environment must not serve."""


class ModelFile:
    __slots__ = ("file", "role", "sha256")

    def __init__(self, file: str, role: str, sha256: str) -> None:  # a plain class, not @dataclass: see handler_config
        self.file = file
        self.role = role
        self.sha256 = sha256


class LoadedModel:
    __slots__ = ("name", "version", "kind", "transforms", "estimator", "has_proba", "classes", "metadata", "warnings", "verify_ms", "load_ms")

    def __init__(
        self,
        name: str,
        version: str,
        kind: str,
        transforms: list[Any],
        estimator: Any,
        has_proba: bool,
        classes: list[Any] | None,
        metadata: dict[str, Any],
        warnings: list[str],
        verify_ms: float,
        load_ms: float,
    ) -> None:
        self.name = name
        self.version = version
        self.kind = kind  # "steps" | "pipeline" | "lean" (numpy only: lean_predictor)
        self.transforms = transforms  # applied in order to the list of texts
        self.estimator = estimator
        self.has_proba = has_proba
        self.classes = classes
        self.metadata = metadata
        self.warnings = warnings
        self.verify_ms = verify_ms
        self.load_ms = load_ms


def read_metadata(model_dir: str) -> dict[str, Any]:
    path = os.path.join(model_dir, "metadata.json")
    try:
        with open(path, "rb") as handle:
            metadata = json.load(handle)
    except FileNotFoundError:
        raise ModelInitError(
            f"{path} not found: attach the model layer (its files must be under model/ in the zip) or set MODEL_DIR"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelInitError(f"{path} is unreadable or not JSON: {exc}") from None
    if not isinstance(metadata, dict):
        raise ModelInitError(f"{path} is not a JSON object")
    if metadata.get("schema_version") != SCHEMA_VERSION:
        raise ModelInitError(
            f"{path} has schema_version {metadata.get('schema_version')!r}; this handler reads {SCHEMA_VERSION}"
        )
    return metadata


def model_files(metadata: dict[str, Any], model_dir: str) -> tuple[str, list[ModelFile]]:
    """The kind and the file list, checked for shape (roles agree with kind, plain file names)."""
    where = os.path.join(model_dir, "metadata.json")
    kind = metadata.get("kind")
    entries = metadata.get("files")
    if kind not in ("steps", "pipeline", "lean"):
        raise ModelInitError(f"{where}: kind {kind!r} is not 'steps', 'pipeline' or 'lean'")
    if not isinstance(entries, list) or not entries:
        raise ModelInitError(f"{where}: files is empty")
    files: list[ModelFile] = []
    for entry in entries:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("file", "role", "sha256")):
            raise ModelInitError(f"{where}: every files[] entry needs string file, role and sha256")
        name = entry["file"]
        if name != os.path.basename(name) or name in ("", ".", ".."):
            raise ModelInitError(f"{where}: file {name!r} must be a plain file name inside the model directory")
        files.append(ModelFile(name, entry["role"], entry["sha256"].lower()))
    roles = [f.role for f in files]
    if kind == "lean" and set(roles) != {"lean"}:
        raise ModelInitError(f"{where}: kind 'lean' needs files with role 'lean' only, got roles {roles}")
    if kind == "pipeline" and roles != ["pipeline"]:
        raise ModelInitError(f"{where}: kind 'pipeline' needs exactly one file with role 'pipeline', got roles {roles}")
    if kind == "steps" and (roles[-1] != "estimator" or any(r != "preprocessor" for r in roles[:-1])):
        raise ModelInitError(
            f"{where}: kind 'steps' needs preprocessor files then one estimator last, got roles {roles}"
        )
    return kind, files


def check_identity(metadata: dict[str, Any], expect_name: str | None, expect_version: str | None) -> None:
    """MODEL_NAME / MODEL_VERSION from the function's configuration must match the attached layer."""
    for label, expected, actual in (
        ("MODEL_NAME", expect_name, metadata.get("name")),
        ("MODEL_VERSION", expect_version, metadata.get("version")),
    ):
        if expected is not None and expected != actual:
            raise ModelInitError(
                f"{label}={expected!r} but the attached model layer is {metadata.get('name')}/{metadata.get('version')}: "
                "the function's environment and its model layer disagree (update one of them)"
            )


def verify_file(model_dir: str, model_file: ModelFile) -> str:
    """The file's path once its sha256 matches metadata.json."""
    path = os.path.join(model_dir, model_file.file)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        raise ModelInitError(f"model file {path} is missing (listed in metadata.json)") from None
    except OSError as exc:
        raise ModelInitError(f"model file {path} cannot be read: {exc}") from None
    if digest.hexdigest() != model_file.sha256:
        raise ModelInitError(
            f"model file {path} failed its integrity check: sha256 {digest.hexdigest()} != {model_file.sha256} "
            "in metadata.json; refusing to unpickle it (rebuild and republish the model layer)"
        )
    return path


def _version_warnings(metadata: dict[str, Any]) -> list[str]:
    """Differences between the versions the model was pickled with and the ones running now."""
    pickled = metadata.get("pickled_with") or {}
    if not isinstance(pickled, dict):
        return []
    running: dict[str, str] = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for module_name, key in (("sklearn", "scikit-learn"), ("numpy", "numpy"), ("scipy", "scipy")):
        module = sys.modules.get(module_name)
        if module is not None:
            running[key] = getattr(module, "__version__", "?")
    return [
        f"{key} {pickled[key]} (pickled) != {now} (running)"
        for key, now in running.items()
        if isinstance(pickled.get(key), str) and pickled[key] != now
    ]


def _load_skops(path: str, trusted: list[str]) -> Any:
    """A .skops file: only types skops trusts by default or metadata.json lists as trusted (mlayer model add audited them)."""
    try:
        from skops.io import get_untrusted_types, load
    except ImportError:
        raise ModelInitError(f"model file {path} is a .skops file but the deps layer has no skops: add skops to its requirements") from None
    untrusted = get_untrusted_types(file=path)
    refused = [name for name in untrusted if name not in trusted]
    if refused:
        raise ModelInitError(
            f"model file {path} holds types neither skops nor metadata.json trusts ({', '.join(refused[:3])}): "
            "register it again with `mlayer model add --trust MODULE.NAME` if you audited them"
        )
    return load(path, trusted=untrusted)


def _top_package(module: object) -> str:
    return module.split(".", 1)[0] if isinstance(module, str) else ""


def _load_joblib(path: str, trusted: list[str]) -> Any:
    """joblib.load, where every global must live in the package the pickle names it by.

    A pickle names a class or function by its home module (`obj.__module__`), so a real model
    always passes. A name that only passes through an allowed package is refused: e.g.
    sklearn.callback._transport.Listener is multiprocessing.connection's, and opens a socket.
    `mlayer model add` scanned the names; this checks what they resolve to, at build (contained)
    and at INIT. Names the user trusted (metadata.json "trusted") are exempt.
    """
    import _compat_pickle

    import joblib.numpy_pickle as numpy_pickle

    base = numpy_pickle.NumpyUnpickler

    class HomeModuleUnpickler(base):  # type: ignore[misc, valid-type]
        def find_class(self, module: str, name: str) -> Any:
            obj = super().find_class(module, name)
            homes = {_top_package(module), _top_package(_compat_pickle.IMPORT_MAPPING.get(module, module))}
            mapped = _compat_pickle.NAME_MAPPING.get((module, name))
            if mapped:
                homes.add(_top_package(mapped[0]))
            if _top_package(getattr(obj, "__module__", None)) not in homes and f"{module}.{name}" not in trusted:
                raise ModelInitError(
                    f"model file {path} names {module}.{name}, which is really {getattr(obj, '__module__', None)}'s: "
                    "no scikit-learn pickle does that; re-save the fitted object with joblib.dump, or trust it explicitly "
                    f"(`mlayer model add --trust {module}.{name}`) if you audited it"
                )
            return obj

    numpy_pickle.NumpyUnpickler = HomeModuleUnpickler
    try:
        return numpy_pickle.load(path)
    finally:
        numpy_pickle.NumpyUnpickler = base


def _load(path: str, trusted: list[str] | None = None) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            obj = _load_skops(path, trusted or []) if path.endswith(".skops") else _load_joblib(path, trusted or [])
        except ModelInitError:
            raise
        except Exception as exc:  # any unpickling failure is fatal for this environment
            raise ModelInitError(f"model file {path} could not be loaded: {type(exc).__name__}: {exc}") from exc
    for warning in caught:
        if warning.category.__name__ == "InconsistentVersionWarning":
            raise ModelInitError(
                f"model file {path} was pickled with another scikit-learn than this deps layer's "
                f"({str(warning.message).splitlines()[0][:300]}): rebuild the model layer against this deps layer"
            )
    return obj, [f"{os.path.basename(path)}: {w.category.__name__}: {str(w.message)[:300]}" for w in caught]


def _split_pipeline(obj: Any) -> tuple[list[Any], Any]:
    """A sklearn Pipeline becomes (its transforms, its final step) so predict and predict_proba share one transform."""
    steps = getattr(obj, "steps", None)
    if isinstance(steps, list) and len(steps) > 1 and hasattr(obj, "__getitem__"):
        final = steps[-1][1]
        if final not in (None, "passthrough") and hasattr(final, "predict"):
            return [obj[:-1]], final
    return [], obj


def _load_lean(metadata: dict[str, Any], model_dir: str, paths: dict[str, str], start: float, verified: float) -> LoadedModel:
    """A lean model: JSON and .npy arrays read with allow_pickle=False, every sha256 already checked."""
    import time

    import lean_predictor  # deferred like joblib: numpy only once the files are verified

    try:
        lean = lean_predictor.load_lean(model_dir, paths)
    except (lean_predictor.LeanSpecError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ModelInitError(f"lean model in {model_dir} could not be loaded: {type(exc).__name__}: {exc}") from exc
    estimator = lean.estimator
    classes = estimator.classes_
    return LoadedModel(
        name=str(metadata.get("name")),
        version=str(metadata.get("version")),
        kind="lean",
        transforms=list(lean.transforms),
        estimator=estimator,
        has_proba=estimator.proba is not None and classes is not None,
        classes=classes.tolist() if classes is not None else None,
        metadata=metadata,
        warnings=_version_warnings(metadata),
        verify_ms=(verified - start) * 1000,
        load_ms=(time.perf_counter() - verified) * 1000,
    )


def load_model(model_dir: str, expect_name: str | None = None, expect_version: str | None = None) -> LoadedModel:
    import time

    start = time.perf_counter()
    metadata = read_metadata(model_dir)
    check_identity(metadata, expect_name, expect_version)
    kind, files = model_files(metadata, model_dir)
    paths = [verify_file(model_dir, f) for f in files]
    verified = time.perf_counter()
    if kind == "lean":
        return _load_lean(metadata, model_dir, {f.file: path for f, path in zip(files, paths)}, start, verified)

    notes: list[str] = []
    objects: list[Any] = []
    trusted = [t for t in metadata.get("trusted") or [] if isinstance(t, str)]
    for path in paths:
        obj, caught = _load(path, trusted)
        objects.append(obj)
        notes.extend(caught)
    if kind == "steps":
        transforms, estimator = objects[:-1], objects[-1]
        for path, obj in zip(paths[:-1], transforms):
            if not hasattr(obj, "transform"):
                raise ModelInitError(f"model file {path} (role preprocessor) has no transform()")
    else:
        transforms, estimator = _split_pipeline(objects[0])
    if not hasattr(estimator, "predict"):
        raise ModelInitError(f"model file {paths[-1]} has no predict(): {type(estimator).__name__}")
    has_proba = hasattr(estimator, "predict_proba")  # False for e.g. SVC(probability=False)
    classes = getattr(estimator, "classes_", None)
    notes.extend(_version_warnings(metadata))
    return LoadedModel(
        name=str(metadata.get("name")),
        version=str(metadata.get("version")),
        kind=kind,
        transforms=transforms,
        estimator=estimator,
        has_proba=has_proba and classes is not None,
        classes=list(classes) if classes is not None else None,
        metadata=metadata,
        warnings=notes,
        verify_ms=(verified - start) * 1000,
        load_ms=(time.perf_counter() - verified) * 1000,
    )
