"""The register's header: the county, the plan year, the sources and the dating rules.

Everything county- or year-specific that the app, the exports and the reports
print comes from here (zqmap's code names no county and no year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from zqmap.checks import COUNTY_NAME_LIMIT, MAX_TEXT, Problem, _Checker, _items, _LineDict, _show, _type_of


@dataclass(frozen=True)
class DateRule:
    """A rule of the register's header: how a time phrase of the text becomes a month.

    ``month`` (``MM``) is the month it always gives in the plan year (``None`` for a rule
    that depends on the phrase, such as "before month N"); ``phrases`` are the words it reads.
    """

    id: str
    zh: str
    en: str
    month: str | None = None
    phrases: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class RegisterMeta:
    """The register's header: which county, which plan year, from which document.

    Everything county- or year-specific that the app, the exports and the
    reports print comes from here (the code holds no county or year).

    >>> from zqmap.register import load
    >>> meta = load().meta
    >>> meta.plan_year, meta.plan_months[0], meta.plan_months[-1]
    (2024, '2024-01', '2024-12')
    >>> meta.texts("en")["county"]
    'Zuoquan County'
    """

    county_code: str
    county_zh: str
    county_en: str
    slug: str  # ASCII, for file names
    plan_year: int
    title_zh: str
    title_en: str
    source_document: str
    source_zh: str
    source_en: str
    credits_zh: str = ""
    credits_en: str = ""
    date_rules: tuple[DateRule, ...] = ()
    source_date: str = ""  # YYYY-MM-DD: the day of the source the register restates (its data's date); "" unknown

    def date_rule(self, rule_id: str) -> DateRule | None:
        """The header's rule ``rule_id`` (how a time phrase became a month), or ``None``.

        >>> from zqmap.register import load
        >>> load().meta.date_rule("first-half").month
        '06'
        """
        return next((r for r in self.date_rules if r.id == rule_id), None)

    @property
    def plan_months(self) -> tuple[str, ...]:
        """The twelve months of the plan year, ``YYYY-01`` … ``YYYY-12``."""
        return tuple(f"{self.plan_year}-{m:02d}" for m in range(1, 13))

    def texts(self, lang: str) -> dict[str, str]:
        """The header's words in ``lang``, as keyword arguments for :func:`zqmap.i18n.t` templates.

        ``credits`` comes with its leading separator (``；`` or ``; ``), or empty when there are none;
        ``dated`` is the source's date in brackets (`` (2024-01-25)``), or empty when the header gives none.
        """
        zh = lang == "zh"
        credits = self.credits_zh if zh else self.credits_en
        return {
            "date": self.source_date,
            "dated": ((f"（{self.source_date}）" if zh else f" ({self.source_date})") if self.source_date else ""),
            "county": self.county_zh if zh else self.county_en,
            "title": self.title_zh if zh else self.title_en,
            "source": self.source_zh if zh else self.source_en,
            "credits": (("；" if zh else "; ") + credits) if credits else "",
            "year": str(self.plan_year),
        }


HEADER_FIELDS = {"county", "plan_year", "title", "source_document", "source_title", "source_date", "credits",
                 "date_rules", "projects"}
DATE_RULE_FIELDS = {"id", "zh", "en", "month", "phrases"}
MM_RE = re.compile(r"^(0[1-9]|1[0-2])$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HEADER_REQUIRED = ("county", "plan_year", "title", "source_document", "source_title")
COUNTY_FIELDS = {"code", "name_zh", "name_en", "slug"}
SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
ADCODE_RE = re.compile(r"^\d{6}$")


def _check_header(data: Any, label: str, problems: list[Problem]) -> RegisterMeta | None:
    """The register's header (every top-level key but ``projects``), validated."""
    if not isinstance(data, _LineDict) or "projects" not in data:
        return None  # not a register, or an empty or truncated one: _records says so in one line
    c = _Checker(label, data, "-", problems)
    c.common(HEADER_FIELDS, HEADER_REQUIRED)

    def pair(key: str, limit: int) -> tuple[str, str] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, _LineDict):
            c.say(key, "vp_not_pair", type=_type_of(value))
            return None
        sub = _Checker(label, value, "-", problems, prefix=key, parent=c)
        sub.common({"zh", "en"}, ("zh", "en"))
        zh, en = sub.text("zh", limit, required=True), sub.text("en", limit, required=True)
        return (zh, en) if zh and en else None

    county = data.get("county")
    code = names = slug = None
    if county is not None:
        if not isinstance(county, _LineDict):
            c.say("county", "vp_county_not_mapping", type=_type_of(county))
        else:
            cc = _Checker(label, county, "-", problems, prefix="county", parent=c)
            cc.common(COUNTY_FIELDS, tuple(sorted(COUNTY_FIELDS)))
            code = county.get("code")
            if code is not None and not (isinstance(code, str) and ADCODE_RE.match(code)):
                cc.say("code", "vp_not_adcode", value=_show(code))
                code = None
            zh, en = cc.text("name_zh", COUNTY_NAME_LIMIT, required=True), cc.text("name_en", COUNTY_NAME_LIMIT,
                                                                                   required=True)
            names = (zh, en) if zh and en else None
            slug = county.get("slug")
            if slug is not None and not (isinstance(slug, str) and SLUG_RE.match(slug)):
                cc.say("slug", "vp_not_file_slug", value=_show(slug))
                slug = None
    year = data.get("plan_year")
    if year is not None and (isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2100):
        c.say("plan_year", "vp_not_year", value=_show(year))
        year = None
    title = pair("title", MAX_TEXT["name"])
    source = pair("source_title", MAX_TEXT["name"])
    credits = pair("credits", MAX_TEXT["name"]) if data.get("credits") is not None else ("", "")
    rules = _check_date_rules(c, data)
    document = c.text("source_document", MAX_TEXT["name"], required=True)
    source_date = _check_source_date(c, data.get("source_date"), year)
    if c.count or None in (code, names, slug, year, title, source, credits, document, rules):
        return None
    return RegisterMeta(code, names[0], names[1], slug, year, title[0], title[1], document, source[0], source[1],
                        credits[0], credits[1], rules, source_date or "")


def _check_source_date(c: _Checker, value: Any, year: int | None) -> str | None:
    """The header's ``source_date`` (optional): a real day, ``YYYY-MM-DD``, no later than the plan year."""
    if value is None:
        return None
    if isinstance(value, date):  # YAML reads an unquoted 2024-01-25 as a date
        value = value.isoformat()
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and DATE_RE.match(value) else None
    except ValueError:
        day = None
    if day is None:
        c.say("source_date", "vp_not_date", value=_show(value))
        return None
    if year is not None and day.year > year:
        c.say("source_date", "vp_date_after_year", value=value, year=year)
        return None
    return value


def _check_date_rules(c: _Checker, data: _LineDict) -> tuple[DateRule, ...] | None:
    """The header's ``date_rules`` (how a time phrase becomes a month); ``None`` when any is broken."""
    items = _items(c, "date_rules", DATE_RULE_FIELDS, ("id", "zh", "en"))
    if items is None or None in items:
        return None
    rules: list[DateRule] = []
    seen: set[str] = set()
    for r in items:
        rid = r.ident(seen)
        zh, en = r.text("zh", MAX_TEXT["long"], required=True), r.text("en", MAX_TEXT["long"], required=True)
        month = r.rec.get("month")
        if month is not None and not (isinstance(month, str) and MM_RE.match(month)):
            r.say("month", "vp_not_mm", value=_show(month))
        phrases = r.rec.get("phrases") or []
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            r.say("phrases", "vp_not_phrases")
        elif r.count == 0:
            rules.append(DateRule(rid, zh, en, month, tuple(phrases)))
    return None if any(r.count for r in items) else tuple(rules)
