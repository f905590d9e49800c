"""What a bench run measures and how many times: one dataclass, full and --quick presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RUNTIME = "python3.12"
FULL_VCPU_MEMORY_MB = 1769  # Lambda gives one full vCPU at 1,769 MB
SEED_MEMORY_MB = 192  # what the seed article configured
MEMORY_CANDIDATES_MB = (128, 160, 192, 256, 320, 384, 512)
BATCH_SIZES = (1, 10, 100, 1000)
COST_BATCH_SIZES = (1, 10, 100)
INGEST_RECORDS = 50_000  # one ingest in the seed article


@dataclass
class BenchConfig:
    out_dir: Path = REPO / "bench" / "results"
    quick: bool = False
    runtime: str = DEFAULT_RUNTIME
    requirements: Path = REPO / "requirements" / f"{DEFAULT_RUNTIME}.txt"
    function_dir: Path = REPO / "function"
    seed_function_dir: Path = REPO / "bench" / "seed_handler"
    configured_memory_mb: int | None = None  # None: the Terraform module's memory_size default; cost and replay run at it, CPU throttled
    full_vcpu_memory_mb: int = FULL_VCPU_MEMORY_MB
    records: int = INGEST_RECORDS  # records in the ingest replay
    repeats: int = 200  # warm rounds per batch size (p99 needs >= 100); each round invokes ours, seed-style and the floor
    cold_repeats: int = 5  # fresh execution environments per variant
    cost_sample_invocations: int = 1000  # batch 1 and 10 are replayed on this many invocations and scaled
    build_repeats: int = 5  # cached rebuilds
    cold_builds: int = 3  # builds from an empty mlayer cache (also the reproducibility check); odd: a true median
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    cost_batch_sizes: tuple[int, ...] = COST_BATCH_SIZES
    memory_candidates_mb: tuple[int, ...] = MEMORY_CANDIDATES_MB
    memory_trials: int = 3  # fresh environments that must all succeed for a memory size to count
    replay_scale: bool = True  # replay 50,000 and 1,000,000 records: the replay's peak RSS must stay flat
    seed_scale: bool = True  # also measure ours vs seed-style on a seed-sized model (train_demo scale="seed")
    seed_scale_repeats: int = 50  # warm rounds per batch size there (each seed-style call reloads ~7 MB)
    seed_scale_batch_sizes: tuple[int, ...] = (1, 10, 100)
    keep_work_dir: bool = False
    notes: list[str] = field(default_factory=list)

    @classmethod
    def quick_preset(cls, **overrides: object) -> BenchConfig:
        """Tiny sizes: proves the code runs and writes well-formed output (the smoke test)."""
        values: dict[str, object] = {
            "quick": True,
            "records": 400,
            "repeats": 3,
            "cold_repeats": 1,
            "cost_sample_invocations": 20,
            "build_repeats": 1,
            "cold_builds": 0,
            "memory_candidates_mb": (FULL_VCPU_MEMORY_MB,),
            "memory_trials": 1,
            "replay_scale": False,  # a million-record replay takes minutes
            "seed_scale": False,  # training and reloading a ~7 MB model would double the smoke test
            "configured_memory_mb": FULL_VCPU_MEMORY_MB,  # one memory tier: no throttled repeats
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
