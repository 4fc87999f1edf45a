"""Time the app's rerun when the as-of slider moves against a plain filter change, in one run.

A synthetic register of ``--n`` projects (``bench/synth.py``, seed 1) and a store of ``--events``
synthetic events per project (``bench/bench_store.py``: monthly progress, notes, milestones,
problems, fields, a move, and corrections of earlier months typed in later) are served to
``app.py`` under AppTest, with one script cache shared across runs as a server keeps it. After the
first run (the plan and every month's register are loaded once), alternating:

- **filter change**: the sector filter switches between 工业 and 农业;
- **slider**: the as-of slider moves to another month (the app has prepared the other months in
  the background once the page was drawn; the bench waits for that, and reports how long it took);
- **after an edit**: one event is appended to the store through the Store API, then the app reruns
  (another session's save: the log's new tail is folded in, the month shown is prepared);

and once, for scale, **one replay**: the old way of reading a month (``state.load(as_of=)``, a
replay of the whole log).

The figure is the script's own run (SCRIPT_STARTED → SCRIPT_STOPPED, summed over the runs of
one user action: a new view is sent in two runs, the map first). Medians; ratios against the
filter change measured in the same run.

    .venv/bin/python bench/bench_asof.py [--n 10000] [--events 60] [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import harness  # noqa: E402
from bench_store import build_store  # noqa: E402
from synth import make_register  # noqa: E402

from zqmap import register, state  # noqa: E402
from zqmap.store import open_store  # noqa: E402

OUT = ROOT / "bench" / "results-asof.md"
COMMAND = ".venv/bin/python bench/bench_asof.py"


def join_ahead(since: float) -> float:
    """Wait for the app's background preparation of the other months; seconds since ``since``."""
    from zqmap import app_warm

    app_warm.wait()
    return time.perf_counter() - since


class Timed:
    """AppTest of app.py whose script runs are timed from the runner's events."""

    def __init__(self):
        from streamlit.testing.v1 import AppTest

        self.runs = harness.time_apptest_script_runs()
        self.at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=3600)

    def run(self) -> float:
        """Run the app; the ms of the script runs this took."""
        n = len(self.runs)
        self.at.run()
        if self.at.exception:
            raise RuntimeError(self.at.exception[0].message)
        return sum(self.runs[n:])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=60)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-replay", action="store_true", help="skip timing the old full replay")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    info = harness.machine()

    with tempfile.TemporaryDirectory(prefix="zqmap-bench-asof-") as tmp_name:
        tmp = Path(tmp_name)
        t = time.perf_counter()
        data = make_register(tmp / "data", args.n, seed=1)
        ds = register.load(data)
        store = tmp / "store.gpkg"
        n_events = build_store(ds, store, args.events)
        print(f"built {args.n} projects, {n_events} events in {time.perf_counter() - t:.0f} s", flush=True)
        os.environ.update(ZQMAP_DATA=str(data), ZQMAP_STORE=str(store))
        os.environ.pop("ZQMAP_AS_OF", None)
        os.chdir(ROOT)

        t = time.perf_counter()
        months = state.load_months(ds, store)
        months_s = time.perf_counter() - t
        del months
        replay_s = None
        if not args.no_replay:
            t = time.perf_counter()
            state.load(ds, store=store, as_of="2024-06")
            replay_s = time.perf_counter() - t
        print(f"months {months_s:.1f} s, one replay {replay_s} s", flush=True)

        app = Timed()
        t = time.perf_counter()
        first = app.run() + app.run()  # the first paint, then the rest of the page
        warm = [join_ahead(t)]
        print(f"first run {first / 1000:.1f} s; every other month ready after {warm[0]:.1f} s", flush=True)
        at = app.at
        plan_months = list(ds.plan_months)
        times: dict[str, list[float]] = {"filter": [], "slider": [], "edit": []}
        sectors = (["industry"], ["agriculture"])
        pid = ds.projects["id"].iloc[0]
        current = at.select_slider(key="w_asof").value
        for k in range(args.reps):
            at.multiselect(key="w_sectors").set_value(sectors[k % 2])
            times["filter"].append(app.run())
            current = plan_months[(plan_months.index(current) + 5) % len(plan_months)]  # visits most months
            at.select_slider(key="w_asof").set_value(current)
            times["slider"].append(app.run())
            at.multiselect(key="w_sectors").set_value(sectors[(k + 1) % 2])
            times["filter"].append(app.run())
            with open_store(store, ds) as st:
                st.append(pid, "note", {"text": f"调度 {k}"}, author="基准")
            t = time.perf_counter()
            times["edit"].append(app.run())
            warm.append(join_ahead(t))
            print(f"rep {k}: " + ", ".join(f"{key} {v[-1]:.0f} ms" for key, v in times.items() if v)
                  + f", months ready again after {warm[-1]:.1f} s", flush=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    med = {k: statistics.median(v) for k, v in times.items() if v}
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    lines = [
        "# The as-of slider's rerun against a plain filter change",
        "",
        f"Generated by `bench/bench_asof.py` on {now}; command (from the repo root): "
        f"`{COMMAND} --n {args.n} --events {args.events} --reps {args.reps}`.",
        "",
        f"{args.n:,} synthetic projects (`bench/synth.py`, seed 1) and a store of {n_events:,} events "
        f"({args.events} per project, `bench/bench_store.py`), served to app.py under AppTest with one shared "
        "script cache. Each figure is the script's own run (summed over the runs of one action), median of "
        f"{args.reps} (the filter change: of {2 * args.reps}), all in this run; "
        f"load average {load[0]:.1f} at the end.",
        "",
        *harness.machine_lines(info),
        "",
        "| action | median | × the filter change |",
        "|---|---:|---:|",
    ]
    labels = {"filter": "filter change (工业 ↔ 农业)",
              "slider": "as-of slider to another month (prepared in the background)",
              "edit": "rerun after another session's save (one new event; the month shown is prepared in the rerun)"}
    for key, label in labels.items():
        if key in med:
            lines.append(f"| {label} | {med[key]:.0f} ms | {med[key] / med['filter']:.2f}× |")
    lines += [
        "",
        "The other months are prepared in one background thread (`zqmap/app_warm.py`) once a page is drawn: "
        f"after the first page they were all ready {warm[0]:.1f} s after it was sent, after a save "
        f"{statistics.median(warm[1:]):.1f} s (median); a slider move before then prepares its month in the rerun.",
        "",
        f"Once, outside the app: every month's register from one pass over the log (`state.load_months`) "
        f"{months_s:.1f} s; the app's first page (the plan, the store and the month shown) {first / 1000:.1f} s"
        + (f"; one month by a replay of the whole log (`state.load(as_of=)`, the way before this change) "
           f"{replay_s:.1f} s." if replay_s is not None else ".")
        + f" Peak RSS of the process {rss:.0f} MiB.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
