"""Words and file names for a filtered view (used by exports and the app).

>>> from zqmap.filters import Filter
>>> export_filename(Filter(sectors=("industry",), month_from="2024-03", month_to="2024-06"), "pdf", "zuoquan")
'zuoquan-projects-industry-2024-03_2024-06.pdf'
>>> describe(Filter(sectors=("industry",)), "en")
'Sector: Industry'
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from zqmap.filters import Filter, ParamNote
from zqmap.i18n import t
from zqmap.vocab import (
    CATEGORIES,
    DATE_PRECISIONS,
    EXPORT_FORMATS,
    MILESTONE_KINDS,
    ORIENTATIONS,
    PAPERS,
    PRECISION_BY_KEY,
    SECTORS,
    STATUSES,
)

# The PDF briefing's pages the app offers: "<paper>-<orientation>", the default first.
PDF_PAGES = tuple(f"{p}-{o}" for p in PAPERS for o in ORIENTATIONS)


def describe(flt: Filter, lang: str, township_names: Mapping[str, str] | None = None) -> str:
    """The active filters in words, for titles and briefing footers."""
    sep = "；" if lang == "zh" else "; "
    colon = "：" if lang == "zh" else ": "
    parts = []
    if flt.sectors:
        parts.append(t("sector", lang) + colon + _join([SECTORS[s].label(lang) for s in flt.sectors], lang))
    if flt.month_from or flt.month_to:
        if flt.month_from and flt.month_to:
            span = t("months_from_to", lang, a=flt.month_from, b=flt.month_to)
        elif flt.month_from:
            span = t("from_month", lang, a=flt.month_from)
        else:
            span = t("to_month", lang, b=flt.month_to)
        parts.append(t("month_range", lang) + colon + span)
    if flt.kinds:
        parts.append(t("milestone_kind", lang) + colon + _join([MILESTONE_KINDS[k].label(lang) for k in flt.kinds], lang))
    if flt.townships:
        names = township_names or {}
        parts.append(t("township", lang) + colon + _join([names.get(x, x) for x in flt.townships], lang))
    if flt.precisions:
        parts.append(t("precision", lang) + colon + _join([PRECISION_BY_KEY[p].label(lang) for p in flt.precisions], lang))
    if flt.date_precisions:
        parts.append(t("date_precision", lang) + colon
                     + _join([DATE_PRECISIONS[p].label(lang) for p in flt.date_precisions], lang))
    if flt.statuses:
        parts.append(t("status", lang) + colon + _join([STATUSES[s].label(lang) for s in flt.statuses], lang))
    if not flt.include_undated:
        parts.append(t("undated_excluded", lang))
    if flt.text.strip():
        parts.append(t("text_is", lang, q=flt.text.strip()))
    if flt.categories:
        parts.append(t("category", lang) + colon + _join([CATEGORIES[c].label(lang) for c in flt.categories], lang))
    return sep.join(parts) if parts else t("no_filters", lang)


def link_notes(notes: Sequence[ParamNote], lang: str) -> str:
    """What a link's parameters lost or changed (:meth:`Filter.parse_params`), in words; empty if nothing.

    >>> link_notes([ParamNote("sector", "mining", "unknown"), ParamNote("from", "2023-12", "clamped", "2024-01")], "en")
    'From the link: sector=mining not known, ignored; from=2023-12 outside the plan year, shown as 2024-01'
    """
    if not notes:
        return ""
    sep = "；" if lang == "zh" else "; "
    said = [t(f"link_{n.what}", lang, param=n.param, value=_shorten(n.value, 20 if n.what == "cut" else 40), to=n.to)
            for n in notes]
    return t("link_notes", lang, what=sep.join(said))


def _shorten(text: str, n: int) -> str:
    """A link's value as the caption quotes it: at most ``n`` characters, then "…"."""
    return text if len(text) <= n else text[:n] + "…"


def _join(items: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def pdf_page_label(page: str, lang: str) -> str:
    """A :data:`PDF_PAGES` entry in words.

    >>> pdf_page_label("a3-portrait", "zh"), pdf_page_label("a4-landscape", "en")
    ('A3 纵向', 'A4 Landscape')
    """
    paper, orientation = page.split("-")
    return f"{PAPERS[paper].label(lang)} {ORIENTATIONS[orientation].label(lang)}"


def export_filename(flt: Filter, fmt: str, slug: str, page: str = PDF_PAGES[0]) -> str:
    """A file name that says what the export holds (ASCII, no spaces); ``slug`` names the county
    (:attr:`zqmap.register.RegisterMeta.slug`); a PDF on another page than A4 landscape says which.

    >>> export_filename(Filter(), "pdf", "zuoquan", page="a3-portrait")
    'zuoquan-projects-all-a3-portrait.pdf'
    """
    parts = [f"{slug}-projects", "+".join(flt.sectors) if flt.sectors else "all"]
    if flt.month_from or flt.month_to:
        parts.append(f"{flt.month_from or 'start'}_{flt.month_to or 'end'}")
    if flt.kinds:
        parts.append("+".join(flt.kinds))
    if flt.townships:
        parts.append("+".join(flt.townships))
    if flt.precisions:
        parts.append("+".join(flt.precisions))
    if flt.date_precisions:
        parts.append("+".join(flt.date_precisions))
    if flt.statuses:
        parts.append("+".join(flt.statuses))
    if not flt.include_undated:
        parts.append("dated")
    if flt.categories:
        parts.append("+".join(flt.categories))
    if flt.text.strip():
        parts.append("q" + hashlib.sha256(flt.text.strip().encode()).hexdigest()[:6])
    if fmt == "pdf" and page != PDF_PAGES[0]:
        parts.append(page)
    return "-".join(parts) + EXPORT_FORMATS[fmt].suffix
