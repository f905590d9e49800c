"""Which globals a model pickle may import: what a fitted scikit-learn object needs, and nothing else.

Unpickling calls every global the stream names (REDUCE, NEWOBJ, INST, OBJ) and sets state on what
they return (BUILD), so a pickle that names `os.system` runs a command. `pickle_scan` lists every
global without importing anything; this module decides, before anything unpickles, whether each is
one a fitted model needs. Modelled on skops' trusted-types audit (skops.io.get_untrusted_types):
a closed list of types, everything else is reported and must be trusted by name.

The rules, and why each is there:

* scikit-learn **classes** (`sklearn.<module>.<Name>`, Name in CapWords, optionally with one
  leading underscore): the estimators and their fitted helpers (`sklearn.tree._tree.Tree`,
  `sklearn._loss.loss.*Loss`, `sklearn.utils._bunch.Bunch`, `..._hist_gradient_boosting.binning._BinMapper`),
  and Cython's generated `__pyx_unpickle_<Class>` (it checks a layout checksum, then sets state). Calling an estimator class only stores its parameters. Test and
  data-fetching modules (`_testing`, `tests`, `datasets`, `externals`) are excluded: they hold
  classes and functions that run code or touch the network.
* scikit-learn's pickle **constructors** (`newObj` in the Cython tree/metric modules): the only
  lower-case callables scikit-learn's own `__reduce__` methods name.
* numpy: `ndarray`, `dtype` and the scalar types (an estimator's `dtype=np.float64` parameter); the
  reconstructors numpy's `__reduce__` returns (`multiarray._reconstruct`, `multiarray.scalar`,
  under numpy 1's `numpy.core` and numpy 2's `numpy._core`); the random-state constructors in
  `numpy.random._pickle` (an estimator's `random_state=RandomState(...)`) and its bit generators.
* scipy.sparse matrix and array classes (a vectorizer's or tf-idf's sparse state).
* joblib's `NumpyArrayWrapper`: joblib's marker for an array whose bytes follow in the stream.
* builtins: the plain containers and scalars (`dict`, `list`, `set`, `frozenset`, `tuple`,
  `slice`, `complex`, `bytearray`, `int`, `float`, `str`, `bytes`, `bool`, `object`). Not `getattr`,
  `eval`, `exec`, `__import__`, `type`: those reach arbitrary code.
* `copyreg._reconstructor` (protocol 0-1's way to make an instance of an allowed class) and
  `collections.OrderedDict` / `collections.defaultdict`.
* `_codecs.encode`: how protocol 0-2 pickles write bytes (numpy's array data included).

Names with a dot (protocol 4 resolves `module` + `a.b.c` by attribute walk) are never allowed
implicitly: `sklearn.base` + `inspect.os.system` would otherwise reach `os.system`.
Anything else (a `FunctionTransformer`'s function, a custom tokenizer, a third-party estimator)
needs `--trust MODULE.NAME`, which `model add` records in metadata.json for `build model` to
check again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..errors import MlayerError
from .pickle_scan import PickleScan

_NUMPY_SCALARS = frozenset(
    "bool_ bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 intc uintc intp uintp longlong ulonglong "
    "float16 float32 float64 longdouble complex64 complex128 clongdouble str_ bytes_ void object_ "
    "datetime64 timedelta64".split()
)
_NUMPY_EXACT = frozenset(
    {"numpy.ndarray", "numpy.dtype", "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__generator_ctor",
     "numpy.random._pickle.__bit_generator_ctor", "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator"}
    | {f"numpy.{core}.multiarray.{name}" for core in ("core", "_core") for name in ("_reconstruct", "scalar")}
    | {f"numpy.random._{bits}.{bits.upper() if bits != 'philox' else 'Philox'}" for bits in ("mt19937", "pcg64", "philox", "sfc64")}
    | {"numpy.random._pcg64.PCG64DXSM", "numpy.random.bit_generator.SeedSequence",
       "numpy.random.bit_generator.__pyx_unpickle_SeedSequence"}
    | {f"numpy.dtypes.{name}" for name in ("Float64DType", "Float32DType", "Int64DType", "Int32DType", "BoolDType", "ObjectDType", "StrDType")}
)
_BUILTINS = frozenset(
    f"builtins.{name}"
    for name in "dict list set frozenset tuple slice complex bytearray int float str bytes bool object".split()
)
_OTHER_EXACT = frozenset(
    {"copyreg._reconstructor", "collections.OrderedDict", "collections.defaultdict", "_codecs.encode",
     "joblib.numpy_pickle.NumpyArrayWrapper"}
)
# A class: CapWords, or _CapWords for private helpers (_BinMapper, _CalibratedClassifier); or Cython's
# generated `__pyx_unpickle_<Class>(type, checksum, state)`, which checks the layout checksum and sets state.
_SKLEARN_CLASS = re.compile(r"^sklearn(\.[A-Za-z_][A-Za-z0-9_]*)*\.(_?[A-Z][A-Za-z0-9_]*|__pyx_unpickle_[A-Za-z][A-Za-z0-9_]*)$")
_SKLEARN_CONSTRUCTORS = frozenset({"newObj"})
_SKLEARN_EXCLUDED_PARTS = frozenset({"_testing", "tests", "datasets", "externals", "conftest", "_build_utils"})
_SCIPY_SPARSE_CLASS = re.compile(r"^scipy\.sparse(\._[a-z]+)?\.(csr|csc|coo|bsr|dia|dok|lil)_(matrix|array)$")
TRUST_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def is_allowed(dotted: str) -> bool:
    """Is `module.name` one of the globals a fitted scikit-learn object needs (see the module docstring)?"""
    if dotted in _NUMPY_EXACT or dotted in _BUILTINS or dotted in _OTHER_EXACT:
        return True
    module, _, name = dotted.rpartition(".")
    if module.startswith("numpy") and module in ("numpy", "numpy.core.multiarray", "numpy._core.multiarray"):
        return name in _NUMPY_SCALARS
    if module == "sklearn" or module.startswith("sklearn."):
        if _SKLEARN_EXCLUDED_PARTS & set(module.split(".")):
            return False
        return bool(_SKLEARN_CLASS.match(dotted)) or name in _SKLEARN_CONSTRUCTORS
    return bool(_SCIPY_SPARSE_CLASS.match(dotted))


def validate_trust(names: Iterable[str]) -> list[str]:
    """The --trust names, checked and sorted (a trusted name is exact: no wildcards)."""
    checked = sorted(set(names))
    for name in checked:
        if not TRUST_RE.match(name):
            raise MlayerError(f"--trust {name!r} is not MODULE.NAME (e.g. mypackage.tokenizers.tokenize): name one global exactly, no wildcards")
    return checked


def untrusted_globals(scan: PickleScan, trusted: Iterable[str] = ()) -> list[str]:
    """The globals in `scan` that neither the allow-list nor `trusted` covers, sorted."""
    extra = set(trusted)
    return sorted(g for g in scan.globals if g not in extra and not is_allowed(g))


def check_trusted(file: str, scan: PickleScan, trusted: Iterable[str] = (), *, stage: str = "mlayer model add") -> None:
    """Refuse, in one line, a pickle that imports anything not allowed or trusted, or calls what is not a global."""
    if scan.trailing_bytes:
        raise MlayerError(
            f"{file} refused: it holds data after the pickle's end, which joblib never writes and which could hide "
            "what an unpickler reads: re-save the fitted object with joblib.dump from a clean session"
        )
    if scan.unsafe_calls:
        raise MlayerError(
            f"{file} refused: {scan.unsafe_calls[0]}, which no scikit-learn pickle does and which could run code when unpickled: "
            "re-save the fitted object with joblib.dump from a clean session"
        )
    untrusted = untrusted_globals(scan, trusted)
    if untrusted:
        more = f" (and {len(untrusted) - 1} more: {', '.join(untrusted[1:4])})" if len(untrusted) > 1 else ""
        flags = " ".join(f"--trust {name}" for name in untrusted)
        raise MlayerError(
            f"{file} refused by {stage}: it imports {untrusted[0]}{more}, which is not a scikit-learn, numpy or scipy.sparse name a "
            f"fitted model needs, and unpickling it could run code on this host: if you wrote or audited that code, "
            f"register again with `mlayer model add ... {flags}`"
        )
