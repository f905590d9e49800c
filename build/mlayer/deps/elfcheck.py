"""Check every ELF file in the layer against the runtime's glibc and CPU before Lambda does.

A wheel tagged for a newer manylinux than the runtime's OS imports fine on the build host and
fails on Lambda with "version `GLIBC_2.27' not found"; reading the GNU version-needs section
(the symbol versions the dynamic loader will demand) catches that at build time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from ..errors import MlayerError
from ..runtimes import Runtime

ELF_MAGIC = b"\x7fELF"
_GLIBC_VERSION = re.compile(r"^GLIBC_(\d+)\.(\d+)")
# pyelftools' e_machine names for Lambda's architectures.
ELF_MACHINES = {"x86_64": "EM_X86_64", "arm64": "EM_AARCH64"}


@dataclass(frozen=True)
class ElfNeeds:
    path: Path
    machine: str
    glibc: tuple[int, int] | None  # newest GLIBC_x.y symbol version required, None if none
    glibc_symbol: str | None  # e.g. "GLIBC_2.27" (from libm.so.6)


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == ELF_MAGIC
    except OSError:
        return False


def iter_elf_files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if not path.is_symlink() and is_elf(path):
                yield path


def read_needs(path: Path) -> ElfNeeds:
    newest: tuple[int, int] | None = None
    symbol: str | None = None
    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        machine = elf["e_machine"]
        for section in elf.iter_sections():
            if not isinstance(section, GNUVerNeedSection):
                continue
            for verneed, auxiliaries in section.iter_versions():
                for aux in auxiliaries:
                    match = _GLIBC_VERSION.match(aux.name)
                    if match:
                        version = (int(match.group(1)), int(match.group(2)))
                        if newest is None or version > newest:
                            newest, symbol = version, f"{aux.name} (from {verneed.name})"
    return ElfNeeds(path=path, machine=machine, glibc=newest, glibc_symbol=symbol)


def check_layer_elves(python_dir: Path, runtime: Runtime, architecture: str) -> list[ElfNeeds]:
    """Raise MlayerError for the first ELF file Lambda could not load; return what was read."""
    expected_machine = ELF_MACHINES[architecture]
    limit = runtime.glibc
    results: list[ElfNeeds] = []
    for path in iter_elf_files(python_dir):
        relative = path.relative_to(python_dir.parent).as_posix()
        try:
            needs = read_needs(path)
        except ELFError as exc:
            raise MlayerError(f"{relative} is not a readable ELF file ({exc}): reinstall the package that ships it") from None
        if needs.machine != expected_machine:
            raise MlayerError(
                f"{relative} is built for {needs.machine}, not {architecture}: "
                f"rebuild with the matching --architecture or pin a release with {architecture} wheels"
            )
        if needs.glibc is not None and needs.glibc > limit:
            raise MlayerError(
                f"{relative} needs {needs.glibc_symbol}, but {runtime.name} runs on {runtime.os_name} "
                f"with glibc {limit[0]}.{limit[1]}: pin an older release with manylinux2014 wheels, "
                f"or use a newer runtime (python3.12 has glibc 2.34)"
            )
        results.append(needs)
    return results
