"""Time the static briefing exports against a plain geopandas plot.

For the full-county view (every project, Chinese), times the PDF and PNG
exporters of :mod:`zqmap.export.briefing` and, in the same run, a baseline: a
plain ``GeoDataFrame.plot()`` of the same projects over the county saved with
``savefig`` to PDF and to PNG (200 dpi). Each is the median of five runs after
one warm-up run, in wall-clock and CPU time, the two alternating. Also reports the one-time costs the medians leave out: the
first export in a fresh process and cutting the CJK font subset (cached on disk).

Prints a table and writes it, with the machine and the command, to
``bench/results-export.md``.

    .venv/bin/python bench/bench_export.py
"""

from __future__ import annotations

import io
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from zqmap.export import (
    View,
    briefing,
    render,
)
from zqmap.export.briefing import fonts as briefing_fonts
from zqmap.filters import Filter
from zqmap.register import load

REPEAT = 5
TARGET = 3.0  # the PDF briefing should take at most 3x the plain plot
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results-export.md"
COMMAND = ".venv/bin/python bench/bench_export.py"

COLD_SCRIPT = """
import time
t0 = time.perf_counter()
from datetime import date
from zqmap.register import load
from zqmap.filters import Filter
from zqmap.export import View, render
view = View.of(load(), Filter(), "zh", on=date(2024, 7, 1))
t1 = time.perf_counter()
render(view, "{fmt}")
print(t1 - t0, time.perf_counter() - t1)
"""


@dataclass
class Timing:
    """Wall-clock and CPU seconds of repeated calls."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def add(self, fn: Callable[[], object]) -> object:
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        self.wall.append(time.perf_counter() - w)
        self.cpu.append(time.process_time() - c)
        return result


def compare(ours: Callable[[], bytes], base: Callable[[], bytes], repeat: int = REPEAT) -> tuple[Timing, Timing, int, int]:
    """Time ``ours`` and ``base`` alternately (so load changes hit both), after one warm-up each."""
    ours(), base()
    t_ours, t_base = Timing(), Timing()
    for _ in range(repeat):
        data = t_ours.add(ours)
        base_data = t_base.add(base)
    return t_ours, t_base, len(data), len(base_data)


def baseline(view: View, fmt: str) -> bytes:
    """The plain plot: county outline and projects by sector, saved as ``fmt``."""
    fig, ax = plt.subplots(figsize=briefing.PAGE_SIZE)
    counties = view.dataset.counties
    counties[counties["focus"]].plot(ax=ax, facecolor="none", edgecolor="black")
    view.selected.plot(ax=ax, column="sector", legend=True, markersize=30)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=briefing.PNG_DPI)
    plt.close(fig)
    return buf.getvalue()


def cold(fmt: str) -> tuple[float, float]:
    """Seconds for imports + load, and for the first export, in a fresh process."""
    out = subprocess.run([sys.executable, "-c", COLD_SCRIPT.format(fmt=fmt)], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    setup, first = map(float, out.stdout.split())
    return setup, first


def subset_cost(view: View) -> float:
    """Seconds to cut one face of Noto Sans CJK SC to the view's characters (done once, then cached)."""
    face = briefing.system_cjk_faces()["regular"]
    text = "".join(sorted(briefing.page_charset(view)))
    t0 = time.perf_counter()
    briefing_fonts._subset_bytes(face, text)
    return time.perf_counter() - t0


def machine() -> list[str]:
    load1, load5, _ = os.getloadavg()
    return [
        f"- platform: {platform.platform()} ({platform.machine()})",
        f"- CPUs: {os.cpu_count()}; load average at start {load1:.2f} (1 min), {load5:.2f} (5 min)",
        f"- Python {platform.python_version()}, matplotlib {matplotlib.__version__}, geopandas {geopandas.__version__}",
    ]


def main() -> None:
    view = View.of(load(), Filter(), "zh", on=date(2024, 7, 1))
    header = machine()
    rows = []
    for fmt in ("pdf", "png"):
        ours, base, size, base_size = compare(lambda fmt=fmt: render(view, fmt), lambda fmt=fmt: baseline(view, fmt))
        rows.append((fmt.upper(), ours, base, size, base_size))
    setup_pdf, first_pdf = cold("pdf")
    pages = len(briefing.pdf_figures(view))
    subset = subset_cost(view)

    lines = [
        "# Static export benchmark",
        "",
        f"Full-county view: {len(view.selected)} projects, Chinese; the PDF has {pages} pages. "
        f"Median of {REPEAT} runs after one warm-up,",
        "baseline measured in the same run: plain `GeoDataFrame.plot()` of the same projects over the",
        "county outline, `savefig` to the same format (PNG at 200 dpi).",
        "",
        "| export | zqmap wall (s) | plain wall (s) | ratio wall | zqmap CPU (s) | plain CPU (s) | ratio CPU "
        "| zqmap size | plain size |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = {}
    for fmt, ours, base, size, base_size in rows:
        wall = (statistics.median(ours.wall), statistics.median(base.wall))
        cpu = (statistics.median(ours.cpu), statistics.median(base.cpu))
        ratios[fmt] = (wall[0] / wall[1], cpu[0] / cpu[1])
        lines.append(f"| {fmt} | {wall[0]:.3f} | {wall[1]:.3f} | {ratios[fmt][0]:.2f}x | {cpu[0]:.3f} | {cpu[1]:.3f} "
                     f"| {ratios[fmt][1]:.2f}x | {size / 1024:.0f} KiB | {base_size / 1024:.0f} KiB |")
    wall_ratio, cpu_ratio = ratios["PDF"]
    verdict = "meets" if max(wall_ratio, cpu_ratio) <= TARGET else "misses"
    lines += [
        "",
        f"Target: PDF briefing within {TARGET:g}x the plain plot: **{verdict}** "
        f"({wall_ratio:.2f}x wall clock, {cpu_ratio:.2f}x CPU time).",
        "Runs alternate between zqmap and the baseline so that changes in machine load hit both;",
        "CPU time (process time) is the steadier figure on a shared machine.",
        "",
        "One-time costs not in the medians:",
        "",
        f"- first PDF export in a fresh process: {first_pdf:.2f} s (after {setup_pdf:.2f} s of imports and data loading)",
        f"- cutting one font face to the page's characters (once per machine and character set, then cached): {subset:.2f} s",
        "",
        "Machine:",
        "",
        *header,
        "",
        f"Command: `{COMMAND}`",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    OUT.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
