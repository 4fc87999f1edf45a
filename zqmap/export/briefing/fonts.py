"""Fonts of the briefing: discovery of Noto Sans CJK SC, subsetting, text
measurement and wrapping.

matplotlib's PDF backend subsets the embedded font with fontTools on every
save, which costs seconds for the 20 MB CJK collection; so the fonts are first
cut down once to the characters the data and the UI can use (cached on disk,
see :func:`page_fonts`), and matplotlib subsets that small file instead. The
glyphs are Noto's own; text stays extractable (``pdf.fonttype`` 42).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from glob import glob
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font, LoadFlags

from zqmap import layers
from zqmap.atomic import write_bytes
from zqmap.export import View
from zqmap.fmt import precision_legend
from zqmap.i18n import LANGS, STRINGS
from zqmap.naming import describe
from zqmap.vocab import MARKER_STYLES, MILESTONE_KINDS, PLACE_KINDS, PRECISIONS, SECTORS, STATUSES

FONT_FAMILY = "Noto Sans CJK SC"
FONT_FILES = "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc"
INSTALL_HINT = "apt-get install fonts-noto-cjk"
SUBSET_VERSION = 2  # bump when the subsetting options change
SUBSET_CACHE_FILES = 24  # subset files kept in the cache
# Always in the subset: ASCII, and the punctuation and symbols the page uses.
FIXED_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "\u3000…—–·→×（）【】《》“”‘’、，。；：！？「」"


@dataclass(frozen=True)
class Face:
    """One face of a font file (``index`` selects it in a .ttc collection)."""

    path: str
    index: int


def system_cjk_faces() -> dict[str, Face]:
    """The regular and bold faces of Noto Sans CJK SC known to matplotlib.

    Raises RuntimeError naming the Debian package when the font is missing:
    matplotlib would otherwise fall back to DejaVu Sans and draw empty boxes.
    """
    faces = _find_faces()
    if "regular" not in faces:
        # The font cache may predate the font's installation.
        for path in sorted(glob(FONT_FILES)):
            font_manager.fontManager.addfont(path)
        faces = _find_faces()
    if "regular" not in faces:
        raise RuntimeError(
            f"the font {FONT_FAMILY!r} was not found; install it with `{INSTALL_HINT}` "
            "(zqmap never downloads fonts)"
        )
    faces.setdefault("bold", faces["regular"])
    return faces


def _find_faces() -> dict[str, Face]:
    out: dict[str, Face] = {}
    entries = sorted(font_manager.fontManager.ttflist, key=lambda e: (e.fname, e.index))
    for entry in entries:
        if entry.name != FONT_FAMILY or entry.style != "normal" or not os.path.exists(entry.fname):
            continue
        weight = font_manager.weight_dict.get(entry.weight, entry.weight)
        if weight == 400:
            out.setdefault("regular", Face(entry.fname, entry.index))
        elif weight == 700:
            out.setdefault("bold", Face(entry.fname, entry.index))
    return out


@dataclass(frozen=True)
class Fonts:
    """The two font files a page is set in, with text measurement.

    ``regular`` and ``bold`` are subsets of the system faces (see
    :func:`page_fonts`); ``source`` is the regular system face they come from.
    """

    regular: str
    bold: str
    source: Face

    def path(self, bold: bool = False) -> str:
        return self.bold if bold else self.regular

    def prop(self, size: float, bold: bool = False) -> FontProperties:
        """Font properties for matplotlib text at ``size`` points."""
        return FontProperties(fname=self.path(bold), size=size)

    def width(self, text: str, size: float, bold: bool = False) -> float:
        """Advance width of ``text`` in points (no kerning: CJK has none)."""
        adv = _advances(self.path(bold))
        return size * sum(adv.get(c, 1.0) for c in text)

    def wrap(self, text: str, width: float, size: float, bold: bool = False,
             max_lines: int | None = None) -> list[str]:
        """``text`` broken into lines no wider than ``width`` points.

        Breaks between CJK characters and at spaces, never before closing
        punctuation; ``\\n`` forces a break. With ``max_lines`` the last kept line
        ends in an ellipsis.
        """
        lines: list[str] = []
        for para in text.split("\n"):
            cur = ""
            for tok in _tokens(para):
                if cur and self.width((cur + tok).rstrip(), size, bold) > width:
                    lines.append(cur.rstrip())
                    cur = tok.lstrip()
                else:
                    cur += tok
                while len(cur) > 1 and self.width(cur.rstrip(), size, bold) > width:
                    cut = self._fit(cur, width, size, bold)
                    lines.append(cur[:cut])
                    cur = cur[cut:]
            lines.append(cur.rstrip())
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.ellipsize(lines[-1] + "…", width, size, bold)
        return lines

    def em_height(self) -> float:
        """Ascent + descent in ems, as matplotlib spaces lines (OS/2 typo metrics, else hhea)."""
        return _em_height(self.regular)

    def ellipsize(self, text: str, width: float, size: float, bold: bool = False) -> str:
        """``text`` cut to ``width`` points, ending in "…" if anything was cut."""
        if self.width(text, size, bold) <= width:
            return text
        body = text.rstrip("…")
        while body and self.width(body + "…", size, bold) > width:
            body = body[:-1]
        return body.rstrip() + "…"

    def _fit(self, text: str, width: float, size: float, bold: bool) -> int:
        n = 1
        while n < len(text) and self.width(text[: n + 1], size, bold) <= width:
            n += 1
        return n


_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_TOKEN_RE = re.compile(rf"[^\s{_CJK}]+\s*|[{_CJK}]\s*|\s+")
_NO_LINE_START = set("、，。；：！？）」』》】’”…%,.;:!?)]")
_NO_LINE_END = set("（「『《【‘“([")


def _tokens(text: str) -> list[str]:
    """Unbreakable pieces of ``text``: Latin words with their trailing space,
    single CJK characters, punctuation glued to its neighbour."""
    out: list[str] = []
    glue = False
    for tok in _TOKEN_RE.findall(text):
        if out and (glue or tok[0] in _NO_LINE_START):
            out[-1] += tok
        else:
            out.append(tok)
        glue = tok.rstrip()[-1:] in _NO_LINE_END
    return out


@lru_cache(maxsize=8)
def _em_height(path: str) -> float:
    font = FT2Font(path)
    os2 = font.get_sfnt_table("OS/2")
    if os2 is not None:
        return (os2["sTypoAscender"] - os2["sTypoDescender"]) / font.units_per_EM
    hhea = font.get_sfnt_table("hhea")
    return (hhea["ascent"] - hhea["descent"]) / font.units_per_EM


@lru_cache(maxsize=8)
def _advances(path: str) -> dict[str, float]:
    """Advance width of every character of a font file, in ems."""
    font = FT2Font(path)
    upem = font.units_per_EM
    flags = LoadFlags.NO_SCALE | LoadFlags.NO_HINTING
    return {chr(code): font.load_glyph(gid, flags=flags).horiAdvance / upem
            for code, gid in sorted(font.get_charmap().items())}


def font_cache_dir() -> Path:
    """Where subset fonts are kept (inside matplotlib's cache directory)."""
    path = Path(matplotlib.get_cachedir()) / "zqmap-fonts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def subset_font(face: Face, chars: Iterable[str]) -> str:
    """A TrueType file with only ``chars`` (and .notdef) of ``face``; cached on disk.

    The name table is kept, so the subset still calls itself Noto Sans CJK SC.
    The CFF outlines are converted to TrueType quadratics (error ≤ 1 font unit
    in 1000): matplotlib embeds every font as a TrueType ``FontFile2``, which
    with CFF data inside is malformed and makes strict readers complain, and
    it subsets ``glyf`` fonts faster. OpenType layout tables are dropped:
    matplotlib shapes CJK and Latin text without them.
    """
    text = "".join(sorted(set(chars)))
    st = os.stat(face.path)
    key = f"{SUBSET_VERSION}|{face.path}|{face.index}|{st.st_size}|{st.st_mtime_ns}|{text}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:20]
    cache = font_cache_dir()
    out = cache / f"{Path(face.path).stem}-{face.index}-{digest}.ttf"
    if out.exists():
        return str(out)
    write_bytes(out, _subset_bytes(face, text), force=True)
    _prune(cache, keep=SUBSET_CACHE_FILES, protect=out)
    return str(out)


def _subset_bytes(face: Face, text: str) -> bytes:
    from fontTools import subset

    options = subset.Options()
    options.font_number = face.index
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx"]
    font = subset.load_font(face.path, options)
    try:
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in text])
        subsetter.subset(font)
        if "CFF " in font:
            _cff_to_truetype(font)
        buf = io.BytesIO()
        font.save(buf)
    finally:
        font.close()
    return buf.getvalue()


def _cff_to_truetype(font) -> None:
    """Replace a font's cubic CFF outlines by quadratic ``glyf`` ones, in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font.recalcBBoxes = True  # glyph and font bounds, and maxp, computed on save
    del font["CFF "]
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                 "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"


def _prune(directory: Path, keep: int, protect: Path) -> None:
    """Delete all but the ``keep`` newest font files of ``directory``."""
    files = sorted(directory.glob("*.ttf"), key=lambda p: (p.stat().st_mtime_ns, p.name), reverse=True)
    for old in files[keep:]:
        if old != protect:
            old.unlink(missing_ok=True)


@lru_cache(maxsize=8)
def _fonts_for(chars: frozenset[str]) -> Fonts:
    faces = system_cjk_faces()
    return Fonts(subset_font(faces["regular"], chars), subset_font(faces["bold"], chars), faces["regular"])


def page_fonts(view: View) -> Fonts:
    """The fonts for ``view``: Noto Sans CJK SC cut to every character that the
    data, the vocabularies and the UI strings can put on a page.

    The set depends on the data, not on the filter (except for a search text),
    so all exports of one register share one subset, made once per machine.
    """
    return _fonts_for(page_charset(view))


def page_charset(view: View) -> frozenset[str]:
    """Every character a page of ``view`` may show."""
    ds = view.dataset
    texts: list[str] = [FIXED_CHARS, describe(view.flt, view.lang, view.township_names())]
    texts += [s for pair in STRINGS.values() for s in pair]
    texts += [x for lang in ("zh", "en") for x in ds.meta.texts(lang).values()]
    texts += [text for lang in LANGS for _, _, text in precision_legend(lang)]
    texts += [title for layer in layers.load_for(ds.data_dir) for title in (layer.name("zh"), layer.name("en"))]
    for vocab in (SECTORS.values(), MILESTONE_KINDS.values(), PRECISIONS, PLACE_KINDS.values(), MARKER_STYLES.values()):
        texts += [x for term in vocab for x in (term.zh, term.en)]
    projects = ds.projects
    for col in ("name_zh", "name_en", "place_zh", "place_en", "township_zh", "township_en"):
        texts += [str(v) for v in projects[col].dropna()]
    for milestones in projects["milestones"]:
        texts += [m.get(k) or "" for m in milestones for k in ("month", "note", "note_en")]
    for frame in (ds.places, ds.counties):
        texts += [str(v) for col in ("name_zh", "name_en") for v in frame[col].dropna()]
    texts += [x for term in STATUSES.values() for x in (term.zh, term.en)]
    # The state columns of zqmap.state (the monthly report prints them), when the data has them.
    for col in ("responsible_unit", "leader", "progress_text", "next_text"):
        if col in projects.columns:
            texts += [str(v) for v in projects[col].dropna()]
    if "problems" in projects.columns:
        texts += [str(p.get(k) or "") for items in projects["problems"] for p in items or ()
                  for k in ("text", "owner", "needed_from", "opened")]
    chars = set("".join(texts))
    return frozenset(c for c in chars if not unicodedata.category(c).startswith("C"))  # no control chars



def drawable(text: str) -> str:
    r"""``text`` as matplotlib should draw it: invisible format characters
    (zero-width spaces, U+FEFF, …) and control characters other than newline
    dropped, tabs and Unicode line/paragraph separators as spaces.

    The page fonts hold no glyphs for these (see :func:`page_charset`); U+FEFF
    makes matplotlib's PDF backend fail (IndexError in its glyph tracker), so one
    such character in a name stopped the whole export; and zero-width characters
    garble the PDF's text layer (copy and search).

    >>> drawable("零\u200b宽\ufeff\u2028字\n符")
    '零宽 字\n符'
    """
    if text.isascii() and text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in "\t\u2028\u2029":
            out.append(" ")
        elif ch == "\n" or unicodedata.category(ch) not in ("Cf", "Cc"):
            out.append(ch)
    return "".join(out)

