"""Tests for the static briefing exports (zqmap.export.briefing): PDF and PNG."""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
import warnings
from datetime import date
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from PIL import Image

from zqmap.export import View, briefing, render
from zqmap.export.briefing import fonts as briefing_fonts
from zqmap.export.tables import flat_records
from zqmap.filters import Filter
from zqmap.i18n import t
from zqmap.naming import describe
from zqmap.register import load

ON = date(2024, 7, 1)
# Industry projects with a milestone in March to June (three of them).
SMALL = Filter(sectors=("industry",), month_from="2024-03", month_to="2024-06", include_undated=False)
NOTHING = Filter(text="no project is called this")


@pytest.fixture(scope="module")
def ds():
    return load()


@pytest.fixture(scope="module")
def small_zh(ds) -> View:
    return View.of(ds, SMALL, "zh", on=ON)


@pytest.fixture(scope="module")
def small_en(ds) -> View:
    return View.of(ds, SMALL, "en", on=ON)


@pytest.fixture(scope="module")
def full_zh(ds) -> View:
    return View.of(ds, Filter(), "zh", on=ON)


@pytest.fixture(scope="module")
def pdf_small_zh(small_zh) -> bytes:
    return render(small_zh, "pdf")


@pytest.fixture(scope="module")
def pdf_full_zh(full_zh) -> bytes:
    return render(full_zh, "pdf")


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} not found: install poppler-utils (apt-get install poppler-utils) to check PDF text")
    return path


def _pdftotext(pdf: bytes, tmp_path: Path, first: int | None = None, last: int | None = None) -> str:
    src = tmp_path / "in.pdf"
    src.write_bytes(pdf)
    cmd = [_poppler("pdftotext"), "-enc", "UTF-8"]
    if first is not None:
        cmd += ["-f", str(first), "-l", str(last or first)]
    out = subprocess.run([*cmd, str(src), "-"], capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def _pdfinfo_pages(pdf: bytes, tmp_path: Path) -> int:
    src = tmp_path / "info.pdf"
    src.write_bytes(pdf)
    out = subprocess.run([_poppler("pdfinfo"), str(src)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def _squash(text: str) -> str:
    """Text without whitespace: line wrapping must not decide a match."""
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------
# PDF


def test_pdf_holds_chinese_names_filters_and_date(pdf_small_zh, small_zh, tmp_path):
    records = flat_records(small_zh, drawn=True)
    assert 1 <= len(records) <= 10
    text = _squash(_pdftotext(pdf_small_zh, tmp_path))
    for rec in records:
        assert _squash(rec["name_zh"]) in text, rec["name_zh"]
    summary = describe(small_zh.flt, "zh", small_zh.township_names())
    assert "工业" in summary and "2024-03" in summary
    assert _squash(t("export_filters", "zh", what=summary)) in text
    assert _squash(small_zh.heading("export_title")) in text
    assert "2024-07-01" in text
    assert _squash(t("schematic_note", "zh")) in text
    assert _squash(small_zh.heading("export_source")) in text


def test_pdf_small_selection_is_map_plus_one_table_page(pdf_small_zh, tmp_path):
    assert pdf_small_zh.startswith(b"%PDF-")
    assert _pdfinfo_pages(pdf_small_zh, tmp_path) == 2


def test_pdf_english_has_english_names(small_en, tmp_path):
    pdf = render(small_en, "pdf")
    text = _squash(_pdftotext(pdf, tmp_path))
    for rec in flat_records(small_en, drawn=True):
        assert _squash(rec["name_en"]) in text, rec["name_en"]
    assert _squash(small_en.heading("export_title")) in text
    assert _squash(t("export_filters", "en", what=describe(small_en.flt, "en"))) in text


def test_pdf_table_continues_over_pages_with_header_repeated(pdf_full_zh, full_zh, tmp_path):
    pages = _pdfinfo_pages(pdf_full_zh, tmp_path)
    assert pages >= 3  # 83 projects do not fit one table page
    header = [t(k, "zh") for k in ("no", "name", "sector", "place", "milestones", "investment")]
    for page in range(2, pages + 1):
        text = _pdftotext(pdf_full_zh, tmp_path, page)
        assert all(h in text for h in header), f"table header missing on page {page}"
        assert _squash(t("page_of", "zh", i=page, n=pages)) in _squash(text)
    tables = _squash("".join(_pdftotext(pdf_full_zh, tmp_path, p) for p in range(2, pages + 1)))
    for rec in flat_records(full_zh, drawn=True):
        assert _squash(rec["name_zh"]) in tables, rec["name_zh"]


def test_pdf_embeds_only_the_cjk_font_and_is_vector(pdf_full_zh, tmp_path):
    src = tmp_path / "fonts.pdf"
    src.write_bytes(pdf_full_zh)
    fonts = subprocess.run([_poppler("pdffonts"), str(src)], capture_output=True, check=True, text=True)
    names = [line.split()[0] for line in fonts.stdout.splitlines()[2:] if line.strip()]
    assert names and all("NotoSansCJKsc" in n for n in names), names
    assert "Mismatch" not in fonts.stderr  # TrueType data in a TrueType font slot
    images = subprocess.run([_poppler("pdfimages"), "-list", str(src)], capture_output=True, check=True, text=True)
    assert len(images.stdout.strip().splitlines()) <= 2  # header lines only: no raster image


def test_empty_selection_is_a_valid_page_saying_so(ds, tmp_path):
    view = View.of(ds, NOTHING, "zh", on=ON)
    assert len(view.selected) == 0
    pdf = render(view, "pdf")
    assert _pdfinfo_pages(pdf, tmp_path) == 1
    assert _squash(t("no_match", "zh")) in _squash(_pdftotext(pdf, tmp_path))
    png = Image.open(io.BytesIO(render(view, "png")))
    assert png.size[0] > 2000


# --------------------------------------------------------------------------
# PNG


def test_png_is_a4_landscape_at_200_dpi(small_zh):
    img = Image.open(io.BytesIO(render(small_zh, "png")))
    assert img.format == "PNG"
    width, height = img.size
    assert abs(width - 2339) <= 2 and abs(height - 1654) <= 2
    dpi = img.info["dpi"]
    assert dpi[0] == pytest.approx(200, abs=0.5) and dpi[1] == pytest.approx(200, abs=0.5)


def _texts(fig: Figure) -> list[Text]:
    return [a for a in fig.findobj(Text) if a.get_text().strip()]


def test_png_has_table_panel_only_for_small_selections(small_zh, full_zh):
    small_texts = _squash(" ".join(a.get_text() for a in _texts(briefing.png_figure(small_zh))))
    for rec in flat_records(small_zh, drawn=True):
        assert _squash(rec["name_zh"]) in small_texts
    assert len(full_zh.selected) > briefing.PNG_TABLE_MAX
    full_texts = _squash(" ".join(a.get_text() for a in _texts(briefing.png_figure(full_zh))))
    assert _squash(t("png_table_omitted", "zh", max=briefing.PNG_TABLE_MAX)) in full_texts  # points to the PDF
    assert not any(_squash(r["name_zh"]) in full_texts for r in flat_records(full_zh, drawn=True))


# --------------------------------------------------------------------------
# Fonts: no tofu


def _all_figures(views: list[View]) -> list[Figure]:
    figs = []
    for view in views:
        figs += briefing.pdf_figures(view)
        figs.append(briefing.png_figure(view))
    return figs


def test_every_rendered_character_is_in_the_cjk_font(full_zh, small_en, ds):
    views = [full_zh, small_en, View.of(ds, NOTHING, "en", on=ON)]
    assert _check_glyphs(_all_figures(views)) > 1000


def test_every_character_of_the_monthly_report_is_in_the_cjk_font(ds):
    """The report prints the status vocabulary, the reasons and the store's texts (units, progress, problems)."""
    from dataclasses import replace

    from statekit import with_state

    from zqmap.export.report import build, pdf_figures

    ids = ds.projects["id"].tolist()
    state = {ids[0]: {"responsible_unit": "璟瑄镇政府", "leader": "欧阳副县长", "progress_text": "钢结构吊装完成",
                      "report_month": "2024-05", "invest_total_cny": 1e6, "annual_plan_cny": 1e8,
                      "milestone_status": [{"kind": "start", "planned": "2024-01", "status": "not_started", "month": None}],
                      "problems": [{"id": "e", "text": "燚鑫公司资金缺口", "owner": "翟科长", "needed_from": "县财政局",
                                    "status": "open", "opened": "2024-01-02"}]}}
    stateful = replace(ds, projects=with_state(ds.projects, state))
    figs = []
    for lang in ("zh", "en"):
        figs += pdf_figures(build(View.of(stateful, Filter(sectors=(ds.projects["sector"].iloc[0],)), lang), "2024-06", lang))
    texts = " ".join(a.get_text() for fig in figs for a in _texts(fig))
    for word in ("璟瑄镇政府", "燚鑫公司资金缺口", "截至 2024-06", "未按期开工", "as of 2024-06", "Late starts"):
        assert word in texts, word
    assert _check_glyphs(figs) > 500


def _check_glyphs(figs: list[Figure]) -> int:
    """Every character of every text of ``figs`` is in the page font and in Noto Sans CJK SC; how many were checked."""
    source = briefing.system_cjk_faces()["regular"]
    source_cmap = FT2Font(source.path, face_index=source.index).get_charmap()
    checked = 0
    for fig in figs:
        for artist in _texts(fig):
            path = findfont(artist.get_fontproperties())
            font = FT2Font(path)
            assert font.family_name == "Noto Sans CJK SC", (artist.get_text(), path)
            cmap = font.get_charmap()
            for ch in set(artist.get_text()) - {"\n"}:
                assert ord(ch) in cmap, f"{ch!r} (U+{ord(ch):04X}) of {artist.get_text()!r} missing from {path}"
                assert ord(ch) in source_cmap, f"{ch!r} not in Noto Sans CJK SC itself"
                checked += 1
    return checked


def test_rendering_warns_of_no_missing_glyph(small_zh):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render(small_zh, "png")
        render(small_zh, "pdf")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message).lower()]
    assert not missing, missing


def _ink(prop: FontProperties, text: str) -> np.ndarray:
    """``text`` rendered black on white at 60 pt, cropped to its ink.

    matplotlib's "Last Resort" fallback is off, so a missing glyph is drawn as
    the font's own .notdef box, as a PDF reader without the glyph would.
    """
    fig = Figure(figsize=(2, 2), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.3, text, fontproperties=prop, size=60, color="black")
    with warnings.catch_warnings(), matplotlib.rc_context({"font.enable_last_resort": False}):
        warnings.simplefilter("ignore")  # the missing-glyph warning is the point here
        fig.canvas.draw()
    grey = np.asarray(fig.canvas.buffer_rgba())[..., 0]
    ys, xs = np.nonzero(grey < 128)
    assert len(xs), f"nothing drawn for {text!r}"
    return grey[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1] < 128


def _same_glyph(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.count_nonzero(a != b) <= 0.02 * a.size


def test_cjk_text_is_not_drawn_as_notdef_boxes(small_zh):
    fonts = briefing.page_fonts(small_zh)
    notdef = "\ue000"  # a private-use character no font here has: drawn as .notdef
    for bold in (False, True):
        prop = fonts.prop(60, bold=bold)
        box = _ink(prop, notdef)
        for ch in "左权县项目":
            assert not _same_glyph(_ink(prop, ch), box), f"{ch} drawn as the .notdef box"
        assert not _same_glyph(_ink(prop, "左"), _ink(prop, "权"))
    # The check itself catches a fallback: DejaVu Sans draws 左 and 权 as its .notdef.
    dejavu = FontProperties(family="DejaVu Sans")
    assert _same_glyph(_ink(dejavu, "左"), _ink(dejavu, notdef))
    assert _same_glyph(_ink(dejavu, "左"), _ink(dejavu, "权"))


def test_missing_font_raises_with_install_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(briefing_fonts, "_find_faces", lambda: {})
    monkeypatch.setattr(briefing_fonts, "FONT_FILES", str(tmp_path / "none-*.ttc"))
    with pytest.raises(RuntimeError, match="apt-get install fonts-noto-cjk"):
        briefing_fonts.system_cjk_faces()


# --------------------------------------------------------------------------
# Determinism


@pytest.mark.parametrize("fmt", ["pdf", "png"])
def test_same_view_gives_identical_bytes(small_zh, fmt):
    assert render(small_zh, fmt) == render(small_zh, fmt)


def test_pdf_has_no_creation_date_or_producer(pdf_small_zh):
    assert b"/CreationDate" not in pdf_small_zh
    assert b"/Producer" not in pdf_small_zh


# --------------------------------------------------------------------------
# Markers


def test_marker_numbers_are_flat_records_numbers(full_zh):
    records = flat_records(full_zh, drawn=True)
    fig = briefing.pdf_figures(full_zh)[0]
    numbers = {a.get_gid(): a.get_text() for a in fig.findobj(Text) if (a.get_gid() or "").startswith("marker-")}
    assert numbers == {f"marker-{r['id']}": str(r["no"]) for r in records}


def test_markers_do_not_overlap_and_lead_to_their_points(full_zh):
    records = flat_records(full_zh, drawn=True)
    fig = Figure(figsize=briefing.PAGE_SIZE)
    data = briefing.map_data(full_zh, records)
    placed = briefing.draw_map(fig, briefing.FULL_MAP, full_zh, data, briefing.page_fonts(full_zh))
    frame = briefing.frame_for(data.county.total_bounds, briefing.FULL_MAP)
    spacing = briefing.MARKER_SPACING_PT * frame.m_per_pt
    assert sorted(p.no for p in placed) == [r["no"] for r in records]
    for p in placed:
        assert (p.px, p.py) == data.xy[p.no]  # the leader ends at the project's mapped point
        assert frame.x0 < p.x < frame.x1 and frame.y0 < p.y < frame.y1
    xy = np.array([(p.x, p.y) for p in placed])
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(dist, np.inf)
    assert dist.min() >= 0.99 * spacing


def test_place_markers_spreads_a_shared_point_deterministically():
    points = [(i, 0.0, 0.0) for i in range(1, 21)] + [(21, 100.0, 0.0)]
    a = briefing.place_markers(points, spacing=10)
    assert a == briefing.place_markers(points, spacing=10)
    lone = next(p for p in a if p.no == 21)
    assert (lone.x, lone.y) == (100.0, 0.0) and not lone.moved
    ring = [p for p in a if p.no <= 20]
    assert all(p.moved and (p.px, p.py) == (0.0, 0.0) for p in ring)
    assert all(math.hypot(p.x, p.y) >= 7.5 for p in ring)  # the true point stays visible
    for i, p in enumerate(ring):
        for q in ring[:i]:
            assert math.hypot(p.x - q.x, p.y - q.y) >= 9.99


@pytest.mark.parametrize("fmt", ["pdf", "png"])
def test_full_view_gives_identical_bytes(full_zh, fmt):
    assert render(full_zh, fmt) == render(full_zh, fmt)


# --------------------------------------------------------------------------
# Drawing CRS


def test_drawing_crs_is_the_focus_countys_utm_zone(ds):
    assert briefing.draw.draw_crs(ds.counties) == "EPSG:32649"  # Zuoquan, 113.4° E
    south = ds.counties.assign(geometry=ds.counties.geometry.translate(-184.0, -70.0))  # ~70.6° W, 33° S
    assert briefing.draw.draw_crs(south) == "EPSG:32719"


# --------------------------------------------------------------------------
# Marker styles from the precision vocabulary


def test_marker_styles_follow_the_precision_vocabulary(full_zh):
    from matplotlib.collections import PathCollection

    from zqmap.fmt import precision_legend
    from zqmap.vocab import PRECISION_BY_KEY

    fig = briefing.pdf_figures(full_zh)[0]
    dashed = [c for c in fig.findobj(PathCollection) if any(ls[1] for ls in c.get_linestyle())]
    drawn = sum(len(c.get_offsets()) for c in dashed)
    county_wide = int((full_zh.selected["precision"] == "county").sum())
    # Every county-wide project on the map, plus the legend's example.
    assert county_wide > 0 and drawn == county_wide + 1
    texts = [a.get_text() for a in fig.findobj(Text)]
    assert all(text in texts for _, _, text in precision_legend("zh"))
    for key, level in PRECISION_BY_KEY.items():
        st = briefing.marker_style("industry", key)
        assert (st["dashes"] is not None) == (level.style == "dashed")
        assert (st["face"] == "#ffffff") == (level.style != "filled")
