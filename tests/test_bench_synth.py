"""bench/synth.py: synthetic registers in the real format, deterministic by seed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zqmap.paths import bundled_data_dir
from zqmap.register import load, validate
from zqmap.vocab import SECTORS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def synth():
    from bench import synth

    return synth


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_validates_cleanly(synth, tmp_path):
    out = synth.make_register(tmp_path / "r", 200, seed=0)
    assert validate(out) == []
    ds = load(out)
    assert len(ds.projects) == 200
    assert len(ds.places) >= 50
    assert set(ds.projects["sector"]) == set(SECTORS)
    assert ds.projects["first_month"].isna().any() and ds.projects["first_month"].notna().any()
    assert ds.projects["investment_cny"].notna().any()
    assert ds.counties["focus"].all() and len(ds.counties) == 8
    assert set(ds.places["source"]) == {"synthetic (bench/synth.py seed 0)"}


def test_deterministic_by_seed(synth, tmp_path):
    a = files(synth.make_register(tmp_path / "a", 200, seed=3))
    b = files(synth.make_register(tmp_path / "b", 200, seed=3))
    c = files(synth.make_register(tmp_path / "c", 200, seed=4))
    assert a == b
    assert a["projects.yaml"] != c["projects.yaml"]
    assert a["geo/counties.geojson"] == c["geo/counties.geojson"]


def test_counties_keep_the_bundled_geometry(synth, tmp_path):
    out = synth.make_register(tmp_path / "r", 0)
    ours = json.loads((out / "geo" / "counties.geojson").read_text(encoding="utf-8"))
    bundled = json.loads((bundled_data_dir() / "geo" / "counties.geojson").read_text(encoding="utf-8"))
    assert [f["geometry"] for f in ours["features"]] == [f["geometry"] for f in bundled["features"]]
    assert all(f["properties"]["focus"] is True for f in ours["features"])
