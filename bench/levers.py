"""What each server-side lever gains, measured in one process → ``bench/results-levers.md``.

For a synthetic register of N projects (bench/synth.py) it times, per lever,
the naive way and the way zqmap does it, in the same run, and reports the
ratio (median of R repetitions each):

- map: ``st_folium`` on a freshly built base map (what a rerun did before) vs
  ``zqmap.st_map.component_args`` (base map rendered once, groups only);
- groups: the per-rerun sector groups as ``folium.FeatureGroup`` vs
  ``zqmap.elements.Group`` (no Jinja recompile of rendered output);
- summaries: pandas group-bys and per-row formatting on the selection vs
  ``zqmap.summary.Digest`` (arrays built once per data version);
- table: pandas → Arrow conversion of the table vs slicing a cached Arrow table;
- YAML: PyYAML's pure-Python SafeLoader vs libyaml's CSafeLoader on projects.yaml.

Usage::

    .venv/bin/python bench/levers.py                 # N=10000, 7 repetitions
    .venv/bin/python bench/levers.py --n 1000 --reps 5 --out /tmp/levers.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))


def timed(fn, reps: int) -> float:
    """Median wall time of ``fn()`` in ms over ``reps`` calls (after one warm-up call)."""
    fn()
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results-levers.md")
    args = p.parse_args(argv)

    import folium
    import numpy as np
    import pandas as pd
    import streamlit_folium
    import yaml
    from streamlit import dataframe_util
    from streamlit_folium import st_folium
    from synth import make_register

    from zqmap import mapview, st_map, summary
    from zqmap.filters import Filter, mask, sort_by_due
    from zqmap.register import load

    load_start = os.getloadavg()[0]
    data = make_register(Path(tempfile.mkdtemp(prefix="zqmap-levers-")) / "data", args.n, seed=0)
    ds = load(data)
    options = mapview.MapOptions(lang="zh")
    keep = mask(ds.projects, Filter(sectors=("industry",)))
    rows = np.flatnonzero(keep)
    results: list[tuple[str, str, str, float, float]] = []

    # map: a plain st_folium call on a new base map vs the cached base map
    def plain_map():
        with mock.patch.object(streamlit_folium, "_component_func", lambda **kwargs: kwargs):
            return st_folium(mapview.base_map(ds, "zh", options), key="map", height=options.height,
                             use_container_width=True, feature_group_to_add=mapview.project_layers(ds, rows, "zh"),
                             layer_control=folium.LayerControl(collapsed=True), returned_objects=["x"])

    st_map.component_args(ds, rows, options)
    results.append(("map component arguments per rerun", "st_folium(base_map(...)) each rerun",
                    "zqmap.st_map.component_args", timed(plain_map, args.reps),
                    timed(lambda: st_map.component_args(ds, rows, options), args.reps)))

    # groups: folium.FeatureGroup vs elements.Group, rendered the way st_folium renders them
    (rendered,) = [r for k, r in st_map._RENDERED.items() if k.options == options]

    def groups_with(cls):
        def run():
            with mock.patch.object(mapview, "Group", cls), rendered.lock:
                groups = mapview.project_layers(ds, rows, "zh")
                try:
                    for i, g in enumerate(groups):
                        streamlit_folium._get_feature_group_string(g, map=rendered.map, idx=i)
                finally:
                    st_map._detach(rendered.map, groups)
        return run

    results.append(("sector groups rendered per rerun", "folium.FeatureGroup", "zqmap.elements.Group",
                    timed(groups_with(folium.FeatureGroup), args.reps), timed(groups_with(mapview.Group), args.reps)))

    # summaries: pandas on the selection vs the Digest
    digest = summary.Digest(ds.projects, "zh")

    def pandas_summaries():
        selected = sort_by_due(ds.projects[keep])
        selected.groupby("sector").size()
        selected.groupby("sector")["investment_cny"].sum(min_count=1)
        pairs = pd.DataFrame({"sector": selected["sector"].to_numpy(), "month": selected["months"].to_numpy()})
        pairs = pairs.explode("month").dropna(subset=["month"])
        pd.crosstab(pairs["month"], pairs["sector"])
        summary.display_table(selected, "zh")

    def digest_summaries():
        chosen = digest.sorted_rows(keep)
        digest.by_sector(chosen)
        digest.total_investment(chosen)
        digest.timeline(chosen)
        digest.undated_count(chosen)
        digest.display_arrow(chosen)

    results.append(("selection → sort, by-sector, timeline, table", "pandas on the selection",
                    "zqmap.summary.Digest", timed(pandas_summaries, args.reps), timed(digest_summaries, args.reps)))

    # table: what st.dataframe serialises
    chosen = digest.sorted_rows(keep)
    results.append(("project table → Arrow bytes", "pandas DataFrame", "cached Arrow table, sliced",
                    timed(lambda: dataframe_util.convert_pandas_df_to_arrow_bytes(digest.display_table(chosen)),
                          args.reps),
                    timed(lambda: dataframe_util.convert_arrow_table_to_arrow_bytes(digest.display_arrow(chosen)),
                          args.reps)))

    # YAML parsing of the register
    text = (data / "projects.yaml").read_text(encoding="utf-8")
    yaml_reps = max(1, args.reps // 3)
    results.append(("parse projects.yaml", "yaml.SafeLoader (pure Python)", "yaml.CSafeLoader (libyaml)",
                    timed(lambda: yaml.load(text, Loader=yaml.SafeLoader), yaml_reps),
                    timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader), yaml_reps)))

    lines = [
        "# What each server-side lever gains",
        "",
        f"Generated by `bench/levers.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Command (from the repo root): `.venv/bin/python bench/levers.py --n {args.n} --reps {args.reps}`",
        "",
        f"Synthetic register of {args.n:,} projects (bench/synth.py, seed 0); the selection is the industry "
        f"sector ({len(rows):,} projects). Median of {args.reps} timed calls after a warm-up "
        f"({yaml_reps} for YAML), all in one process; **× = before ÷ after**.",
        "",
        "| step | before | after | before ms | after ms | × |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [f"| {step} | {before} | {after} | {b:.1f} | {a:.1f} | {b / a:.1f}× |"
              for step, before, after, b, a in results]
    lines += ["", f"Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs; "
                  f"load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end.", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
