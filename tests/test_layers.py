"""Layer files (zqmap.layers): loading from a data directory, validation, reload,
and one definition drawn by every renderer (web map, briefing, both legends)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import project, write_register
from matplotlib.collections import PathCollection
from matplotlib.text import Text

from zqmap import layers, mapview
from zqmap.export import View, render
from zqmap.export.briefing import pdf_figures, png_figure
from zqmap.filters import Filter
from zqmap.register import fingerprint, load, validate
from zqmap.vocab import SECTORS

ROOT = Path(__file__).resolve().parents[1]
VILLAGES = """\
# Administrative villages: a layer added by a file alone.
id: villages
title: {zh: 行政村点位, en: Administrative villages}
source: places
where: {kind: village}
style: {color: "#0a6e5c", weight: 1, fillColor: "#0a6e5c", fillOpacity: 0.8, radius: 3}
label: {field: name, class: zq-village, color: "#0a6e5c", size: 11}
show: true
legend: true
"""


def _data_with_layers(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    """A register in tmp_path that brings a copy of the bundled layers (plus ``extra`` files)."""
    data = write_register(tmp_path / "data", [project("p-one")])
    shutil.copytree(layers.LAYERS_DIR, data / "layers")
    for name, text in (extra or {}).items():
        (data / "layers" / name).write_text(text, encoding="utf-8")
    return data


def _village_names(ds, lang: str) -> list[str]:
    places = ds.places
    return list(places.loc[places["kind"] == "village", f"name_{lang}"])


# --------------------------------------------------------------------------
# Where layers come from


def test_a_register_without_layers_uses_the_bundled_ones(make_register):
    data = make_register([project()])
    assert layers.layers_dir(data) == layers.LAYERS_DIR
    assert [layer.id for layer in layers.load_for(data)] == ["neighbours", "county", "townships"]
    assert layers.layers_dir(None) == layers.LAYERS_DIR


def test_a_register_brings_its_own_layers(tmp_path):
    data = _data_with_layers(tmp_path, {"40-villages.yaml": VILLAGES})
    (data / "layers" / "10-neighbours.yaml").unlink()
    assert layers.layers_dir(data) == data / "layers"
    assert [layer.id for layer in layers.load_for(data)] == ["county", "townships", "villages"]


def test_an_edited_layer_file_is_picked_up_without_a_restart(tmp_path):
    data = _data_with_layers(tmp_path)
    path = data / "layers" / "20-county.yaml"
    before = fingerprint(data)
    assert layers.load_for(data)[1].title["en"] == "County boundary"
    path.write_text(path.read_text(encoding="utf-8").replace("County boundary", "The county"), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # coarse clocks: make the edit visible
    assert layers.load_for(data)[1].title["en"] == "The county"
    assert fingerprint(data) != before  # the app's caches are keyed on it
    (data / "layers" / "40-villages.yaml").write_text(VILLAGES, encoding="utf-8")
    assert [layer.id for layer in layers.load_for(data)][-1] == "villages"
    assert load(data).fingerprint == fingerprint(data)


# --------------------------------------------------------------------------
# Validation: one line naming the file and the field


@pytest.mark.parametrize(("change", "field", "message"), [
    (('color: "#7a1f1f"', 'color: "dark red"'), "style.color", "not a colour"),
    (("fillOpacity: 0.55", "fillOpacity: 5"), "style.fillOpacity", "from 0 to 1"),
    (("source: counties", "source: rivers"), "source", "one of counties, places"),
    (("title: {zh: 县界, en: County boundary}", "title: {zh: 左权县界}"), "title", "zh and en"),
    (("show: true", "show: true\nopacity: 1"), "opacity", "unknown key"),
    (("label: {", "label: {weight: 2, "), "label.weight", "unknown"),
    (("where: {focus: true}", "where: {focal: true}"), "where.focal", "no column 'focal'"),
    (("show: true", "show: yes please"), "show", "true or false"),
])
def test_a_bad_layer_file_is_one_line_naming_file_and_field(tmp_path, change, field, message):
    data = _data_with_layers(tmp_path)
    path = data / "layers" / "20-county.yaml"
    text = path.read_text(encoding="utf-8")
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    problems = validate(data)  # the register check reports it like a bad project
    assert [p.file for p in problems] == ["layers/20-county.yaml"], problems
    assert problems[0].field == field and message in problems[0].message, problems[0]
    if field != "where.focal":  # columns are known only with the data
        with pytest.raises(layers.LayerError) as err:
            layers.load_for(data)
        text = str(err.value)
        assert "\n" not in text and text.startswith("layers/20-county.yaml:") and field in text


def test_invalid_yaml_in_a_layer_file_names_its_line(tmp_path):
    data = _data_with_layers(tmp_path, {"40-broken.yaml": "id: broken\ntitle: {zh: 坏, en: [unclosed\n"})
    (problem,) = validate(data)
    assert problem.file == "layers/40-broken.yaml" and "invalid YAML" in problem.message and problem.line >= 2


def test_two_layers_with_one_id_are_refused(tmp_path):
    data = _data_with_layers(tmp_path, {"40-again.yaml": (layers.LAYERS_DIR / "20-county.yaml").read_text("utf-8")})
    (problem,) = validate(data)
    assert problem.file == "layers/40-again.yaml" and problem.field == "id"


# --------------------------------------------------------------------------
# A new layer file: in the web map and the briefing, with no code change


@pytest.fixture(scope="module")
def with_villages(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("villages")
    return load(_data_with_layers(tmp, {"40-villages.yaml": VILLAGES}))


def _page(m) -> str:
    return m.get_root().render()


def test_a_new_layer_file_shows_in_the_web_map_and_its_legend(with_villages, dataset):
    m = mapview.base_map(with_villages, "zh", inline=True)
    groups = [c for c in m._children.values() if c.__class__.__name__ == "FeatureGroup"]
    (fg,) = [g for g in groups if g.layer_name == "行政村点位"]
    (script,) = [c for c in fg._children.values() if isinstance(c, layers.LayerScript)]
    doc = json.loads(script.data)
    n = int((with_villages.places["kind"] == "village").sum())
    assert len(doc["points"]) == n == 10
    assert doc["dot"]["fillColor"] == "#0a6e5c" and doc["dot"]["radius"] == 3
    assert len(doc["labels"]) == n and "zq-village zq-l-villages" in doc["labels"][0][2]
    page = _page(m)
    assert ".zq-label.zq-l-villages { color: #0a6e5c; font-size: 11px; font-weight: normal; }" in page
    legend = next(c for c in m._children.values() if isinstance(c, mapview.Legend))
    entries = json.loads(legend.layers)
    assert [e[1] for e in entries] == ["相邻县", "县界", "乡镇驻地", "行政村点位"]
    assert 'fill="#0a6e5c"' in entries[-1][0]
    # Without the file, none of it.
    plain = _page(mapview.base_map(dataset, "zh", inline=True))
    assert "行政村点位" not in plain and "zq-village" not in plain


def test_a_new_layer_file_shows_in_the_briefing_and_its_legend(with_villages, dataset, tmp_path):
    view = View.of(with_villages, Filter(), "zh", on=date(2024, 7, 1))
    fig = pdf_figures(view)[0]
    texts = [a.get_text() for a in fig.findobj(Text)]
    assert "行政村点位" in texts  # the legend entry
    names = _village_names(with_villages, "zh")
    assert any(name in texts for name in names)  # labels (some give way to crowded seats)
    dots = [c for c in fig.findobj(PathCollection) if len(c.get_offsets()) == len(names)
            and tuple(c.get_facecolor()[0][:3]) == pytest.approx((10 / 255, 110 / 255, 92 / 255))]
    assert dots, "the village dots are drawn in the layer's fill colour"
    png_texts = [a.get_text() for a in png_figure(view).findobj(Text)]
    assert "行政村点位" in png_texts
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        src = tmp_path / "v.pdf"
        src.write_bytes(render(view, "pdf"))
        out = subprocess.run([pdftotext, "-enc", "UTF-8", "-f", "1", "-l", "1", str(src), "-"], capture_output=True,
                             check=True).stdout.decode()
        assert "行政村点位" in out
    baseline = [a.get_text() for a in pdf_figures(View.of(dataset, Filter(), "zh", on=date(2024, 7, 1)))[0]
                .findobj(Text)]
    assert "行政村点位" not in baseline and not any(name in baseline for name in names)


# --------------------------------------------------------------------------
# One home for colours


def test_no_sector_colour_outside_vocab():
    colours = {s.colour.lower() for s in SECTORS.values()}
    found = []
    for path in sorted((ROOT / "zqmap").rglob("*")):
        if path.suffix not in (".py", ".js", ".css", ".html", ".yaml") or path.name == "vocab.py":
            continue
        text = path.read_text(encoding="utf-8").lower()
        found += [(path.name, c) for c in colours if re.search(re.escape(c) + r"(?![0-9a-f])", text)]
    assert not found, found


def test_web_legend_lists_every_marker_style():
    # County-wide projects are not markers on the web map: their dashed badge has its own entry.
    meta = mapview._store_meta("zh")
    assert [s[1] for s in meta["styles"]] == ["实心：确切位置或村庄", "空心：乡镇驻地"]
    assert [e[1] for e in meta["extra"]] == ["虚线框：全县 · 位置未定（不标点，点开看清单）"]
    assert "stroke-dasharray" in meta["extra"][0][0]
    assert meta["apart"] == ["county"]
    assert {k: v["st"] for k, v in meta["precisions"].items()} == {
        "site": "filled", "village": "filled", "township": "hollow", "county": "dashed"}
