"""Probe: bench/run.py's browser phase on copies of app.py, interleaved, one line of medians per app.

Usage (from the repo root): ``python -m bench.probe_paint idiomatic,zqmap,app_variant.py 8 [DATA]``

Each ``*.py`` name is a copy of app.py in the repo root (e.g. with another paint order), measured like
zqmap (same selectors and page texts); other names are bench/run.py's apps. DATA is a register
directory (default: the bundled one). ``--profile`` adds one profiled filter change per app's run of
zqmap (self time per function). What docs/performance-notes.md reports as probe runs came from this.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from bench import run
from zqmap.paths import bundled_data_dir


def main(argv: list[str]) -> int:
    names, reps = argv[0].split(","), int(argv[1]) if len(argv) > 1 else 3
    data = Path(argv[2]) if len(argv) > 2 and not argv[2].startswith("--") else bundled_data_dir()
    reg = run.count_register(data, "probe")
    apps = []
    for name in names:
        if name.endswith(".py"):
            app = name[:-3]
            run.APPS[app], run.SELECTORS[app], reg.texts[app] = name, run.SELECTORS["zqmap"], reg.texts["zqmap"]
            name = app
        apps.append(name)
    with tempfile.TemporaryDirectory() as logdir:
        res = run.browser_phase(reg, apps, reps, 120, Path(logdir), "--profile" in argv)
    for app in apps:
        fs = res[app]["filter"]

        def med(k: str, fs: list = fs) -> float:
            return run.median([f[k] for f in fs if f.get(k) is not None]) or 0

        print(f"{app:12s} map {med('ms'):6.0f}  delta {med('map_delta_ms'):6.0f}  browser {med('client_ms'):6.0f}"
              f"  counts {med('counts_ms'):6.0f}  page {med('page_ms'):6.0f}  cold {run.median(res[app]['cold_ms']) or 0:6.0f}"
              f"  all={[round(f['ms']) for f in fs]} kept={[f['view_kept'] for f in fs]} errors={res[app]['errors'][:2]}")
        for fn, ms in res[app].get("browser_profile", {}).get("top_self_ms", []):
            print(f"    {ms:7.1f} ms  {fn}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
