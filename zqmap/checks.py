"""Validation primitives shared by the register, the layer files and the store.

YAML read with the line of every mapping and key (:func:`_read_yaml`), a
:class:`Problem` naming file, line, record and field, and :class:`_Checker`,
which checks one record's fields and collects its problems. Everything that
reads a file a person wrote goes through here, so every message has the same
shape and every text the same checks.

>>> str(Problem("projects.yaml", 3, "p-one", "sector", "'x' is not one of: a, b"))
"projects.yaml:3: p-one: sector: 'x' is not one of: a, b"
>>> valid_month("2024-13")
False
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as _field
from pathlib import Path
from typing import Any

import yaml

from zqmap.i18n import render

COUNTY_NAME_LIMIT = 60
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TEXT = {"name": 200, "short": 80, "long": 1000}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Control characters (C0 other than tab/newline, DEL, C1 such as the 8-bit CSI
# that terminals obey) and bidi overrides never belong in a name: they hide or
# reorder text in popups, tables, PDFs and `zqmap list` output.
BAD_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the data, printed as ``FILE:LINE: id: field: message``."""

    file: str
    line: int
    record: str
    field: str
    message: str  # in English (the command line's language)
    # The message's i18n key and arguments, when it has one (:meth:`text` says it in either language).
    key: str = _field(default="", compare=False, repr=False)
    args: tuple = _field(default=(), compare=False, repr=False)

    def text(self, lang: str) -> str:
        """The message in ``lang`` (English for a problem with no i18n key)."""
        return _one_line(render(self.key, lang, self.args), 400) if self.key else self.message

    def __post_init__(self) -> None:
        # One problem, one line: whatever text came from the data (keys, YAML
        # error context), fold it onto a single printable line.
        for name, limit in (("record", 80), ("field", 80), ("message", 400)):
            object.__setattr__(self, name, _one_line(str(getattr(self, name)), limit))

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.record}: {self.field}: {self.message}"

    def line_in(self, lang: str) -> str:
        """:meth:`__str__` with the message in ``lang`` (the app's list of problems).

        >>> Problem("projects.yaml", 3, "p-one", "id", *said("vp_dup_id")).line_in("zh")
        'projects.yaml:3: p-one: id: 编号重复'
        """
        return f"{self.file}:{self.line}: {self.record}: {self.field}: {self.text(lang)}"


def said(key: str, /, **args: Any) -> tuple[str, str, tuple]:
    """``(message, key, args)`` of a :class:`Problem` that says the i18n string ``key``: its English
    text as the message, the key and arguments for :meth:`Problem.text`."""
    pairs = tuple(args.items())
    return render(key, "en", pairs), key, pairs


def problem(file: str, line: int, record: str, fld: str, key: str, /, **args: Any) -> Problem:
    """A :class:`Problem` that says the i18n string ``key`` (see :func:`said`)."""
    return Problem(file, line, record, fld, *said(key, **args))


def _one_line(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    text = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------
# YAML with line numbers


class _LineDict(dict):
    """A mapping that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict
    duplicates: list


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """Safe loading with libyaml's parser when PyYAML has it (~3.5x faster; it also
    refuses nesting deeper than 1,000 levels with a marked error instead of recursing)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    out = _LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    out.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        value = loader.construct_object(value_node, deep=True)
        if key in out:
            out.duplicates.append((key, key_node.start_mark.line + 1))
        out[key] = value
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, label: str, problems: list[Problem]) -> Any:
    """Parse ``path``; on failure append a problem and return ``None``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        problems.append(problem(label, 1, "-", "-", "vp_not_found"))
        return None
    except OSError as exc:
        problems.append(problem(label, 1, "-", "-", "vp_unreadable", why=str(exc.strerror)))
        return None
    if size > MAX_FILE_BYTES:
        problems.append(problem(label, 1, "-", "-", "vp_file_too_big", size=size, limit=MAX_FILE_BYTES))
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        problems.append(problem(label, 1, "-", "-", "vp_not_utf8", at=exc.start))
        return None
    except OSError as exc:
        problems.append(problem(label, 1, "-", "-", "vp_unreadable", why=str(exc.strerror)))
        return None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = (exc.problem or exc.context or "invalid YAML").strip()
        problems.append(problem(label, line, "-", "-", "vp_bad_yaml", what=what))
    except yaml.YAMLError as exc:
        problems.append(problem(label, 1, "-", "-", "vp_bad_yaml", what=str(exc)))
    except RecursionError:
        problems.append(problem(label, 1, "-", "-", "vp_yaml_too_deep"))
    else:
        if data is None:  # 0 bytes, only comments or a bare null: a mapping with no keys, so its list is missing
            data = _LineDict()
            data.line, data.key_lines, data.duplicates = 1, {}, []
        return data
    return None


# --------------------------------------------------------------------------
# Field checks shared by projects and places


class _Checker:
    """Collects problems for one record of one file."""

    def __init__(self, label: str, rec: _LineDict, record: str, problems: list[Problem], prefix: str = "",
                 parent: _Checker | None = None):
        self.label, self.rec, self.record, self.problems, self.prefix = label, rec, record, problems, prefix
        self.parent = parent  # the record's checker, for a nested item (a milestone, a quantity)
        self.count = 0  # problems this checker (and its nested items) added

    def line(self, key: str | None = None) -> int:
        if key is not None and key in self.rec.key_lines:
            return self.rec.key_lines[key]
        return self.rec.line

    def add(self, fld: str, message: str, line: int | None = None, *, key: str = "", args: tuple = ()) -> None:
        name = f"{self.prefix}.{fld}" if self.prefix else fld
        self.problems.append(Problem(self.label, line if line is not None else self.line(fld), self.record, name,
                                     message, key, args))
        checker: _Checker | None = self
        while checker is not None:
            checker.count += 1
            checker = checker.parent

    def say(self, fld: str, key: str, line: int | None = None, /, **args: Any) -> None:
        """:meth:`add` the i18n string ``key`` (see :func:`said`)."""
        message, key, pairs = said(key, **args)
        self.add(fld, message, line, key=key, args=pairs)

    def common(self, allowed: set[str], required: Iterable[str]) -> None:
        for key, line in self.rec.duplicates:
            self.say(str(key), "vp_dup_field", line)
        for key in self.rec:
            if key not in allowed:
                self.say(str(key), "vp_unknown_field", allowed=", ".join(sorted(allowed)))
        for key in required:
            if key not in self.rec or self.rec[key] is None:
                self.say(key, "vp_required", self.rec.line)

    def ident(self, seen: set[str]) -> str | None:
        """The record's ``id`` if it is a slug not seen before (``seen`` is updated)."""
        pid = self.rec.get("id")
        if pid is None:
            return None
        if not isinstance(pid, str) or not ID_RE.match(pid):
            self.say("id", "vp_not_slug", value=_show(pid))
            return None
        if pid in seen:
            self.say("id", "vp_dup_id")
        seen.add(pid)
        return pid

    def text(self, key: str, limit: int, required: bool = False) -> str | None:
        value = self.rec.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.say(key, "rf_not_text", type=_type_of(value))
            return None
        if required and not value.strip():
            self.say(key, "rf_empty")
            return None
        if len(value) > limit:
            self.say(key, "rf_too_long", n=len(value), limit=limit)
            return None
        if BAD_CHARS_RE.search(value):
            self.say(key, "rf_bad_chars")
            return None
        return value

    def choice(self, key: str, allowed: Iterable[str]) -> str | None:
        value = self.rec.get(key)
        if value is None:
            return None
        allowed = list(allowed)
        if not isinstance(value, str) or value not in allowed:
            self.say(key, "rf_not_one_of", value=_show(value), allowed=tuple(allowed))
            return None
        return value

    def number(self, key: str, lo: float | None = None, hi: float | None = None) -> float | None:
        value = self.rec.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.say(key, "rf_not_number", type=_type_of(value))
            return None
        if not math.isfinite(value):
            self.say(key, "rf_not_finite", value=value)
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            if hi is not None:
                self.say(key, "rf_out_of_range", value=value, lo=lo, hi=hi)
            else:
                self.say(key, "rf_below_min", value=value, lo=lo)
            return None
        return float(value)


def _type_name(value: Any) -> str:
    return {dict: "a mapping", _LineDict: "a mapping", list: "a list", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def _type_of(value: Any) -> tuple[str]:
    """:func:`_type_name` as an i18n argument: a term, named in each language (:func:`zqmap.i18n.term`)."""
    return (_type_name(value),)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _record_name(rec: Any, index: int) -> str:
    rid = rec.get("id") if isinstance(rec, dict) else None
    if isinstance(rid, str) and ID_RE.match(rid):
        return rid
    return f"#{index + 1}"


def _records(data: Any, key: str, label: str, problems: list[Problem]) -> list[tuple[int, _LineDict]]:
    """The list under ``key`` of a top-level mapping, as (index, record) pairs."""
    if data is None:  # unreadable: already reported
        return []
    if not isinstance(data, _LineDict):
        problems.append(problem(label, 1, "-", key, "vp_not_mapping_file", name=key))
        return []
    items = data.get(key)
    if items is None:
        line = data.key_lines.get(key, data.line)
        problems.append(problem(label, line, "-", key, "vp_list_empty" if key in data else "vp_list_missing", name=key))
        return []
    if not isinstance(items, list):
        line = data.key_lines.get(key, 1)
        problems.append(problem(label, line, "-", key, "vp_not_records", type=_type_of(items)))
        return []
    out = []
    for i, rec in enumerate(items):
        if isinstance(rec, _LineDict):
            out.append((i, rec))
        else:
            problems.append(problem(label, data.key_lines.get(key, 1), f"#{i + 1}", "-", "vp_record_not_mapping"))
    return out


def _items(c: _Checker, key: str, allowed: set[str], required: tuple[str, ...]) -> list[_Checker | None] | None:
    """Checkers for the mappings in the list field ``key`` (``None`` for an item
    that is not a mapping); ``None`` when the field is not a list."""
    value = c.rec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        c.say(key, "vp_not_list", type=_type_of(value))
        return None
    out: list[_Checker | None] = []
    for j, item in enumerate(value):
        if not isinstance(item, _LineDict):
            c.say(f"{key}[{j}]", "vp_item_not_mapping", fields=", ".join(required))
            out.append(None)
            continue
        m = _Checker(c.label, item, c.record, c.problems, prefix=f"{key}[{j}]", parent=c)
        m.common(allowed, required)
        out.append(m)
    return out


def valid_month(text: str) -> bool:
    """``YYYY-MM`` with a month 01-12 (and a year 1900-2100)."""
    m = MONTH_RE.match(text)
    return bool(m) and 1900 <= int(m.group(1)) <= 2100 and 1 <= int(m.group(2)) <= 12
