"""Read what a joblib/pickle file holds WITHOUT unpickling it.

`pickletools.genops` walks the opcode stream; a small symbolic stack machine gives the objects a
shape (classes become `Global("module", "name")`, instances `Instance(cls, args, state)`), and no
code from the file is imported or run. This is how `mlayer model add` learns, on a machine that
need not have scikit-learn installed:

* the top-level class (is it a `sklearn.pipeline.Pipeline`? a vectorizer? a classifier?);
* the scikit-learn version, which `BaseEstimator.__getstate__` writes into every estimator's state
  as `_sklearn_version`;
* numpy's major version when the stream names numpy's core module (`numpy._core` is numpy 2+,
  `numpy.core` numpy 1.x); numpy does not record its full version in a pickle;
* every global the file needs importing (a `__main__.X` cannot be imported on Lambda).

joblib does not write a pure pickle: after each `NumpyArrayWrapper` BUILD it writes the array's
raw bytes straight into the stream (after an alignment pad), or, for object arrays, a nested
pickle. The walker reproduces joblib's reader (numpy_pickle.NumpyArrayWrapper.read_array) to skip
exactly those bytes, so genops never parses array data as opcodes.
"""

from __future__ import annotations

import _compat_pickle
import lzma
import math
import pickletools
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import MlayerError
from .joblib_stream import open_pickle_stream


@dataclass(frozen=True)
class Global:
    module: str
    name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


class Instance:
    """An object the pickle would build: its class (or callable), arguments and state."""

    __slots__ = ("cls", "args", "state")

    def __init__(self, cls: Any, args: Any = ()) -> None:
        self.cls = cls
        self.args = args
        self.state: Any = None


class Opaque:
    """A value the scan does not model (persistent ids, out-of-band buffers)."""


class ScanError(Exception):
    pass


@dataclass
class PickleScan:
    top_class: str | None = None
    protocol: int | None = None
    compression: str | None = None
    globals: set[str] = field(default_factory=set)
    sklearn_versions: dict[str, set[str]] = field(default_factory=dict)  # version -> classes that carry it
    pipeline_steps: list[str] | None = None  # step classes, when the top level is a Pipeline
    arrays: int = 0  # joblib-wrapped numpy arrays skipped
    trailing_bytes: bool = False  # data after the pickle's STOP (joblib never writes any)
    unsafe_calls: list[str] = field(default_factory=list)  # calls/BUILDs whose target is not a named global's instance

    @property
    def sklearn_version(self) -> str | None:
        return next(iter(self.sklearn_versions)) if len(self.sklearn_versions) == 1 else None

    @property
    def numpy_major(self) -> int | None:
        modules = {g.rsplit(".", 1)[0] for g in self.globals}
        if any(m == "numpy._core" or m.startswith("numpy._core.") for m in modules):
            return 2
        if any(m == "numpy.core" or m.startswith("numpy.core.") for m in modules):
            return 1
        return None

    @property
    def main_globals(self) -> list[str]:
        return sorted(g for g in self.globals if g.startswith("__main__."))

    @property
    def is_pipeline(self) -> bool:
        return self.top_class is not None and self.top_class.rsplit(".", 1)[-1] == "Pipeline"


_PUSH_ARG = frozenset(
    "INT BININT BININT1 BININT2 LONG LONG1 LONG4 STRING BINSTRING SHORT_BINSTRING BINBYTES SHORT_BINBYTES "
    "BINBYTES8 BYTEARRAY8 UNICODE SHORT_BINUNICODE BINUNICODE BINUNICODE8 FLOAT BINFLOAT".split()
)
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
_SKIP_CHUNK = 1 << 20


def class_name(value: Any) -> str:
    if isinstance(value, Instance):
        return value.cls.dotted if isinstance(value.cls, Global) else "<unknown>"
    if isinstance(value, Global):
        return value.dotted
    return f"builtins.{type(value).__name__}"


def _set_item(target: Any, key: Any, value: Any) -> None:
    if isinstance(target, dict):
        try:
            target[key] = value
        except TypeError:  # an unhashable symbolic key: irrelevant to what we look for
            pass


def _dtype_layout(dtype: Any) -> tuple[int, bool]:
    """(itemsize, has Python objects) of a pickled numpy.dtype (see numpy's dtype.__reduce__)."""
    if not (isinstance(dtype, Instance) and isinstance(dtype.cls, Global) and dtype.cls.name == "dtype"):
        raise ScanError(f"array wrapper without a numpy dtype ({class_name(dtype)})")
    code = dtype.args[0] if isinstance(dtype.args, tuple) and dtype.args else None
    if not isinstance(code, str):
        raise ScanError("numpy dtype without a type code")
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    elsize = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    has_object = code.startswith("O") or bool(flags & 1)  # NPY_ITEM_REFCOUNT
    digits = re.sub(r"\D", "", code)
    # numpy sizes a built-in dtype by its type code and ignores the state's elsize, so the scan
    # must too: trusting elsize would let a file skip fewer bytes here than joblib reads, and hide
    # what follows. A state that disagrees with its code is refused outright.
    coded = (4 if code.startswith("U") else 1) * int(digits) if digits else -1
    if coded > 0 and elsize > 0 and elsize != coded:
        raise ScanError(f"numpy dtype {code!r} claims {elsize}-byte items, not {coded}, so it is refused")
    size = coded if coded > 0 else elsize
    if size <= 0:
        raise ScanError(f"numpy dtype {code!r} without a size")
    return size, has_object


class _Walker:
    def __init__(self, stream: BinaryIO, scan: PickleScan) -> None:
        self.stream = stream
        self.scan = scan
        self.proto = 0

    def _global(self, module: str, name: str) -> Global:
        # As pickle.Unpickler.find_class: protocols 0-2 store Python 2 names (copy_reg, __builtin__).
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        found = Global(module, name)
        if "." in name:  # protocol 4 resolves it by attribute walk: an allowed module could lead anywhere
            self.scan.unsafe_calls.append(f"it names {name!r} inside {module}, an attribute path rather than a global")
        self.scan.globals.add(found.dotted)
        return found

    def _skip(self, size: int) -> None:
        while size > 0:
            got = len(self.stream.read(min(size, _SKIP_CHUNK)))
            if got == 0:
                raise ScanError("file ends inside array data (truncated)")
            size -= got

    def _skip_joblib_array(self, wrapper: Instance) -> None:
        state = wrapper.state if isinstance(wrapper.state, dict) else {}
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
            raise ScanError("joblib array wrapper without a valid shape")
        itemsize, has_object = _dtype_layout(state.get("dtype"))
        self.scan.arrays += 1
        if has_object:  # a nested pickle stream follows
            outer_proto = self.proto
            self.run(nested=True)
            self.proto = outer_proto
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = self.stream.read(1)
            if not pad:
                raise ScanError("file ends before array data (truncated)")
            self._skip(pad[0])
        self._skip(math.prod(shape) * itemsize)

    def _target(self, opcode: str, func: Any) -> Any:
        """Record a call whose callable is not a named global: the allow-list could not vouch for it."""
        if not isinstance(func, Global):
            self.scan.unsafe_calls.append(f"its {opcode} calls a {class_name(func)} object instead of a named class")
        return func

    def _call(self, func: Any, args: Any) -> Instance:
        self._target("REDUCE", func)
        if isinstance(func, Global) and func.module == "copyreg" and isinstance(args, tuple) and args:
            if func.name in ("_reconstructor", "__newobj__", "__newobj_ex__"):
                return Instance(self._target("REDUCE", args[0]), args[1:])
        return Instance(func, args)

    def _build(self, obj: Any, state: Any) -> Any:
        if isinstance(obj, Global):  # BUILD on a class sets attributes on it: monkeypatching, not loading
            self.scan.unsafe_calls.append(f"its BUILD sets state on the class {obj.dotted} itself")
        if not isinstance(obj, Instance):
            return obj
        obj.state = state
        owner = class_name(obj)
        dict_state = state[0] if isinstance(state, tuple) and state and isinstance(state[0], dict) else state
        if isinstance(dict_state, dict):
            version = dict_state.get("_sklearn_version")
            if isinstance(version, str):
                self.scan.sklearn_versions.setdefault(version, set()).add(owner)
        if isinstance(obj.cls, Global) and obj.cls.module.endswith("numpy_pickle"):
            if obj.cls.name == "NumpyArrayWrapper":
                self._skip_joblib_array(obj)
                return Instance(Global("numpy", "ndarray"))
            if obj.cls.name == "NDArrayWrapper":
                raise MlayerError(
                    "written by joblib < 0.10, which keeps arrays in companion .npy files: "
                    "load it with that joblib and re-dump it with a current one"
                )
        return obj

    def run(self, nested: bool = False) -> Any:
        stack: list[Any] = []
        marks: list[int] = []
        memo: dict[int, Any] = {}

        def pop_mark() -> list[Any]:
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            return items

        for opcode, arg, _pos in pickletools.genops(self.stream):
            name = opcode.name
            if name in _PUSH_ARG:
                stack.append(arg)
            elif name in _CONSTANTS:
                stack.append(_CONSTANTS[name])
            elif name in ("EMPTY_LIST", "EMPTY_SET"):
                stack.append([])
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "MARK":
                marks.append(len(stack))
            elif name in ("LIST", "FROZENSET"):
                stack.append(pop_mark())
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                size = int(name[-1])
                items = tuple(stack[-size:])
                del stack[-size:]
                stack.append(items)
            elif name == "DICT":
                items = pop_mark()
                built: dict[Any, Any] = {}
                for i in range(0, len(items) - 1, 2):
                    _set_item(built, items[i], items[i + 1])
                stack.append(built)
            elif name == "APPEND":
                value = stack.pop()
                if isinstance(stack[-1], list):
                    stack[-1].append(value)
            elif name in ("APPENDS", "ADDITEMS"):
                items = pop_mark()
                if isinstance(stack[-1], list):
                    stack[-1].extend(items)
            elif name == "SETITEM":
                value = stack.pop()
                key = stack.pop()
                _set_item(stack[-1], key, value)
            elif name == "SETITEMS":
                items = pop_mark()
                for i in range(0, len(items) - 1, 2):
                    _set_item(stack[-1], items[i], items[i + 1])
            elif name == "POP":
                if marks and marks[-1] == len(stack):
                    marks.pop()
                else:
                    stack.pop()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(stack[-1])
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                cls = self._global(module, attr)
                stack.append(cls if name == "GLOBAL" else Instance(cls, tuple(pop_mark())))
            elif name == "STACK_GLOBAL":
                attr = stack.pop()
                module = stack.pop()
                if not (isinstance(module, str) and isinstance(attr, str)):
                    raise ScanError("STACK_GLOBAL with non-string names")
                stack.append(self._global(module, attr))
            elif name == "REDUCE":
                args = stack.pop()
                stack.append(self._call(stack.pop(), args))
            elif name == "NEWOBJ":
                args = stack.pop()
                stack.append(Instance(self._target(name, stack.pop()), args))
            elif name == "NEWOBJ_EX":
                stack.pop()  # kwargs
                args = stack.pop()
                stack.append(Instance(self._target(name, stack.pop()), args))
            elif name == "OBJ":
                items = pop_mark()
                stack.append(Instance(self._target(name, items[0]), tuple(items[1:])))
            elif name == "BUILD":
                state = stack.pop()
                stack[-1] = self._build(stack[-1], state)
            elif name == "PERSID":
                stack.append(Opaque())
            elif name == "BINPERSID":
                stack[-1] = Opaque()
            elif name == "NEXT_BUFFER":
                stack.append(Opaque())
            elif name == "PROTO":
                self.proto = arg
                if not nested:
                    self.scan.protocol = arg
            elif name in ("FRAME", "READONLY_BUFFER"):
                pass
            elif name == "STOP":
                return stack.pop()
            else:  # EXT1/2/4: the copyreg extension registry, unused by joblib and scikit-learn
                raise ScanError(f"unsupported opcode {name}")
        raise ScanError("no STOP opcode (truncated)")


def _pipeline_steps(top: Any) -> list[str] | None:
    state = top.state if isinstance(top, Instance) else None
    steps = state.get("steps") if isinstance(state, dict) else None
    if not isinstance(steps, list):
        return None
    return [class_name(step[1]) if isinstance(step, tuple) and len(step) == 2 else "<unknown>" for step in steps]


def scan_pickle(path: Path) -> PickleScan:
    """Scan a joblib (or plain pickle) file; MlayerError naming the file if it is not one."""
    path = Path(path)
    scan = PickleScan()
    try:
        with open_pickle_stream(path) as (stream, compression):
            scan.compression = compression
            top = _Walker(stream, scan).run()
            scan.trailing_bytes = bool(stream.read(1))
    except MlayerError as exc:
        message = str(exc)
        raise MlayerError(message if message.startswith(path.name) else f"{path.name}: {message}") from None
    except (ScanError, ValueError, IndexError, KeyError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        detail = str(exc) or type(exc).__name__
        raise MlayerError(
            f"{path} is not a readable joblib/pickle file ({detail}): save the fitted object with joblib.dump(obj, path)"
        ) from None
    scan.top_class = class_name(top)
    if scan.is_pipeline:
        scan.pipeline_steps = _pipeline_steps(top)
    return scan
