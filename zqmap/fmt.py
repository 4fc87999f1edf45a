"""Text formatting of numbers, amounts, quantities and milestones: one home for
every surface (the map's popup, the details panel, the summaries, the tables,
CSV/XLSX and the PDF/PNG briefing), so the same quantity reads the same
everywhere.

>>> q = {"kind": "investment", "value": 9e9, "unit": "CNY"}
>>> quantity(q, "zh"), quantity(q, "en")
('总投资：90 亿元', 'investment: CNY 9 bn')
>>> quantity({"kind": "capacity", "value": 1400.0, "unit": "MW"}, "zh")
'规模/产能：1,400 MW'
"""

from __future__ import annotations

import math

from zqmap.i18n import t
from zqmap.vocab import MARKER_STYLES, MILESTONE_KINDS, PRECISION_BY_KEY, PRECISIONS, QUANTITY_KINDS, SECTORS

MONEY_UNITS = {"CNY": "", "CNY/yr": "per_year"}  # amounts in CNY, written in 亿元 / CNY bn
MONEY_MIN = 1e7  # smaller amounts are written in plain yuan


def label_sep(lang: str) -> str:
    """Between a label and its value: a full-width colon in Chinese.

    >>> label_sep("zh"), label_sep("en")
    ('：', ': ')
    """
    return "：" if lang == "zh" else ": "


def number(value: float) -> str:
    """A plain number with thousands separators, no needless decimals.

    >>> number(1400.0), number(0.5), number(12345.25)
    ('1,400', '0.5', '12,345.2')
    """
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,g}"


def money_scale(lang: str) -> float:
    """CNY per displayed unit: 亿元 (10^8, the unit county documents use) in Chinese, billions in English."""
    return 1e8 if lang == "zh" else 1e9


def format_yi(value: float | None, lang: str) -> str:
    """An amount in CNY as 亿元 (Chinese) or CNY billion (English); "" for none.

    >>> format_yi(9e9, "zh"), format_yi(9e9, "en"), format_yi(1.5e7, "en"), format_yi(None, "zh")
    ('90 亿元', 'CNY 9 bn', 'CNY 0.015 bn', '')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return t("yi_yuan", lang, v=f"{value / money_scale(lang):,.3f}".rstrip("0").rstrip("."))


def amount_in_unit(value: float | None, lang: str, decimals: int = 2) -> str:
    """An amount as a bare number in the unit of :func:`money_scale` (for a column headed 亿元); "—" for none.

    >>> amount_in_unit(1.7e10, "zh"), amount_in_unit(1.7e10, "en"), amount_in_unit(float("nan"), "zh")
    ('170.00', '17.00', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value / money_scale(lang):,.{decimals}f}"


def quantity_value(value: float, unit: str, lang: str) -> str:
    """A value with its unit: amounts of money in 亿元 / CNY bn, anything else as number and unit.

    >>> quantity_value(3e8, "CNY/yr", "zh"), quantity_value(5e6, "CNY", "en"), quantity_value(12, "km", "en")
    ('3 亿元/年', '5,000,000 CNY', '12 km')
    """
    if unit in MONEY_UNITS and value >= MONEY_MIN:
        text = format_yi(value, lang)
        if MONEY_UNITS[unit] == "per_year":
            text += "/年" if lang == "zh" else "/yr"
        return text
    return f"{number(value)} {unit}"


def quantity(q: dict, lang: str) -> str:
    """One quantity of a project: ``总投资：90 亿元``."""
    return QUANTITY_KINDS[q["kind"]].label(lang) + label_sep(lang) + quantity_value(q["value"], q["unit"], lang)


def quantity_text(quantities: list[dict], lang: str, sep: str = "; ") -> str:
    """A project's quantities on one line (or joined by ``sep``)."""
    return sep.join(quantity(q, lang) for q in quantities)


IMPLIED_MARK = "≈"  # before a month the text does not give (a year's task, counted as December)


def month_text(m: dict) -> str:
    """A milestone's month, marked ``≈`` when it is implied (``date_precision: implied``).

    >>> month_text({"month": "2024-12", "date_precision": "implied"}), month_text({"month": "2024-03"})
    ('≈2024-12', '2024-03')
    """
    return (IMPLIED_MARK if m.get("date_precision") == "implied" else "") + m["month"]


def has_implied(milestone_lists) -> bool:
    """Whether any milestone of these projects has an implied month (an export then explains ``≈``)."""
    return any(m.get("date_precision") == "implied" for ms in milestone_lists for m in ms)


def milestone(m: dict, lang: str, note: bool = True) -> str:
    """One milestone: ``2024-03 投产/运营（3月投产达效）``; the English note falls back to the Chinese one.
    An implied month is marked (:func:`month_text`).

    >>> milestone({"month": "2024-03", "kind": "start", "note": "开工", "note_en": None}, "en")
    '2024-03 start of works (开工)'
    >>> milestone({"month": "2024-12", "kind": "complete", "date_precision": "implied"}, "zh")
    '≈2024-12 建成'
    """
    text = f"{month_text(m)} {MILESTONE_KINDS[m['kind']].label(lang)}"
    body = (m.get("note_en") if lang == "en" else None) or m.get("note") or ""
    if note and body:
        text += f"（{body}）" if lang == "zh" else f" ({body})"
    return text


def milestone_text(milestones: list[dict], lang: str, sep: str = "; ", notes: bool = True) -> str:
    """A project's milestones on one line (or joined by ``sep``)."""
    return sep.join(milestone(m, lang, notes) for m in milestones)


def last_updated(row, lang: str) -> str:
    """A project's "last updated (date, by whom)" from the store's state columns; "" before any event.

    >>> last_updated({"updated_at": "2024-07-02T08:00:00.000000Z", "updated_by": "王五"}, "en")
    '2024-07-02 (王五)'
    """
    by = row.get("updated_by") or ""
    return t("last_updated_value", lang, date=str(row.get("updated_at") or "")[:10], by=by) if by else ""


def or_list(items: list[str], lang: str) -> str:
    """``a或b`` / ``a or b``; three or more: ``a、b或c`` / ``a, b or c``."""
    if len(items) <= 1:
        return "".join(items)
    if lang == "zh":
        return "、".join(items[:-1]) + "或" + items[-1]
    return ", ".join(items[:-1]) + " or " + items[-1]


def precision_legend(lang: str) -> list[tuple[str, str, str]]:
    """The legend of the marker styles: (style, an example precision, text), in vocabulary order.

    >>> [text for _, _, text in precision_legend("zh")]
    ['实心：确切位置或村庄', '空心：乡镇驻地', '虚线：全县（位置未定）']
    """
    out = []
    for key, style in MARKER_STYLES.items():
        levels = [p for p in PRECISIONS if p.style == key]
        if levels:
            text = style.label(lang) + label_sep(lang) + or_list([p.label(lang) for p in levels], lang)
            out.append((key, levels[0].key, text))
    return out


# -- map surface (issue 11): precision and source references in the reader's language

_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def precision_text(key: str, lang: str) -> str:
    """A precision level for a popup or the details panel: its label, and for a stand-in point what
    that means (without repeating the label).

    >>> precision_text("township", "en"), precision_text("site", "zh")
    ('Township seat · not the exact site', '确切位置')
    """
    level = PRECISION_BY_KEY[key]
    label = level.label(lang)
    label = label[:1].upper() + label[1:]
    return f"{label} · {t(f'precision_note_{key}', lang)}" if level.approximate else label


def source_ref_text(ref: str, lang: str) -> str:
    """The plan reference ``<领域>方面/<序号>`` (section, item) in English; Chinese keeps the plan's own.

    >>> source_ref_text("农业方面/四", "en"), source_ref_text("农业方面/四", "zh")
    ('Agriculture, item 4', '农业方面/四')
    >>> source_ref_text("附件", "en")
    '附件'
    """
    head, sep, item = (ref or "").partition("/")
    sector = next((s for s in SECTORS.values() if head == f"{s.zh}方面"), None)
    number_ = _NUMERALS.get(item.strip()) or (int(item) if item.strip().isdigit() else None)
    if lang == "zh" or not sep or sector is None or number_ is None:
        return ref
    return t("source_item", lang, section=sector.label(lang), item=number_)
