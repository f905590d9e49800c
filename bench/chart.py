"""One PNG with four panels: cold start, warm duration vs floor and seed, cost, sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .variants import NOPYC, OURS, SEED

MB = 1024 * 1024


def render_png(results: dict[str, Any], dest: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle(f"mlayer benchmark {results['date']}" + (" (--quick)" if results["quick"] else ""), fontsize=14)
    _cold(axes[0][0], results)
    _warm(axes[0][1], results)
    _cost(axes[1][0], results)
    _sizes(axes[1][1], results)
    fig.tight_layout()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dest, dpi=110)
    plt.close(fig)
    return dest


def _cold(ax: Any, results: dict[str, Any]) -> None:
    cold = results["cold"]["full_vcpu"]
    keys = [k for k in (OURS, NOPYC, SEED) if k in cold]
    labels = [results["variants"][k]["label"].replace(" (", "\n(") for k in keys]
    init = [cold[k]["init_ms"]["p50"] for k in keys]
    first = [cold[k]["first_invoke_ms"]["p50"] for k in keys]
    ax.bar(labels, init, label="INIT")
    ax.bar(labels, first, bottom=init, label="first invocation")
    for i, (a, b) in enumerate(zip(init, first)):
        ax.text(i, a + b, f"{a + b:,.0f} ms", ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("ms (median)")
    ax.set_title(f"Cold start at {results['cold']['full_vcpu'][OURS]['memory_mb']} MB (1 vCPU)")
    ax.legend()


def _warm(ax: Any, results: dict[str, Any]) -> None:
    full = results["warm"]["full_vcpu"]
    sizes = list(full[OURS]["batches"])
    x = [int(s) for s in sizes]
    ax.plot(x, [full[OURS]["batches"][s]["duration_ms"]["p50"] for s in sizes], "o-", label="ours p50")
    ax.plot(x, [full[OURS]["batches"][s]["duration_ms"]["p99"] for s in sizes], "o:", label="ours p99")
    ax.plot(x, [results["floor"]["batches"][s]["p50"] for s in sizes], "s--", label="floor (bare predict)")
    seed = full[SEED]["batches"]
    seed_sizes = [s for s in sizes if s in seed]
    ax.plot([int(s) for s in seed_sizes], [seed[s]["duration_ms"]["p50"] for s in seed_sizes], "^-", label="seed-style p50")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("batch size (records per invocation)")
    ax.set_ylabel("handler duration, ms")
    ax.set_title(f"Warm invocation at {full['memory_mb']} MB")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()


def _cost(ax: Any, results: dict[str, Any]) -> None:
    batches = results["cost"]["batches"]
    sizes = list(batches)
    pos = range(len(sizes))
    width = 0.27
    ours = [batches[s]["ours_usd"] for s in sizes]
    seed_run = [(batches[s]["seed_measured"] or {}).get("usd") or 0 for s in sizes]
    article = [batches[s]["seed_article_usd"] or 0 for s in sizes]
    ax.bar([p - width for p in pos], ours, width, label="ours")
    ax.bar(list(pos), seed_run, width, label="seed-style (this run)")
    ax.bar([p + width for p in pos], article, width, label="seed article")
    ax.set_xticks(list(pos), [f"batch {s}" for s in sizes])
    ax.set_yscale("log")
    ax.set_ylabel("USD per 50,000-record ingest")
    ax.set_title(f"Cost at {results['cost']['memory_mb']} MB (INIT billed)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend()


def _sizes(ax: Any, results: dict[str, Any]) -> None:
    rows = [r for r in results["sizes"]["rows"] if r["unzipped_bytes"] is not None]
    names = [r["artifact"] for r in rows]
    unzipped = [r["unzipped_bytes"] / MB for r in rows]
    zipped = [(r["zipped_bytes"] or 0) / MB for r in rows]
    pos = list(range(len(rows)))
    ax.barh([p + 0.2 for p in pos], unzipped, 0.4, label="unzipped")
    ax.barh([p - 0.2 for p in pos], zipped, 0.4, label="zipped")
    ax.axvline(results["sizes"]["limits"]["unzipped_bytes"] / MB, color="red", linestyle="--", label="250 MB limit")
    ax.axvline(results["sizes"]["limits"]["direct_upload_zipped_bytes"] / MB, color="orange", linestyle=":", label="50 MB direct upload")
    ax.set_yticks(pos, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("MB")
    ax.set_title("Artifact sizes")
    ax.set_xlim(0, results["sizes"]["limits"]["unzipped_bytes"] / MB * 1.25)
    ax.legend(fontsize=7, loc="center right")
