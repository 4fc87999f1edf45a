"""The store's refusals in both languages: one i18n key per message, English kept for the command line."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from zqmap import i18n
from zqmap.register import load
from zqmap.store.events import check, refused

ROOT = Path(__file__).resolve().parents[1] / "zqmap"
CJK = re.compile(r"[\u4e00-\u9fff]")


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_string_has_the_same_placeholders_in_both_languages():
    differ = {k for k, (zh, en) in i18n.STRINGS.items() if fields(zh) != fields(en)}
    # by design: Chinese counts the months (1–6月累计), English names the last one (Jan–2024-06)
    assert differ == {"col_cumulative", "pdf_cumulative"}


def test_every_refusal_key_said_in_the_code_exists_and_every_one_is_said():
    code = "".join(p.read_text(encoding="utf-8") for p in ROOT.rglob("*.py"))
    defined = {k for k in i18n.STRINGS if k.startswith("rf_")}
    i18n_src = Path(i18n.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r'"(rf_\w+)"', code.replace(i18n_src, "")))
    assert used - defined == set()  # nothing said that is not defined
    assert defined - used == set()  # nothing defined that no check says


@pytest.fixture(scope="module")
def plan():
    return load()


def bad_payloads(pid: str):
    month = "2024-06"
    yield "progress", {"month": "2024-13", "invest_month": -1}, {}
    yield "progress", {"month": "2031-01", "invest_month": 1e14}, {}
    yield "progress", {"month": month}, {}
    yield "progress", {"month": month, "invest_month": 2e6, "invest_total": 1e6}, {}
    yield "progress", {"month": month, "invest_total": 1e6, "text": "x" * 5000, "bogus": 1}, {}
    yield "progress", {"month": month, "invest_total": 1e6}, {"progress": {month: {"invest_total": 2e6}}}
    yield "progress", {"month": "2024-03", "invest_total": 5e6}, {"progress": {"2024-05": {"invest_total": 2e6}}}
    yield "progress", {"month": "2024-03", "text": "a"}, {"progress": {"2024-05": {"text": "b"}}}
    yield "progress", {"month": month, "invest_total": 3e6}, {"progress": {"2024-04": {"invest_total": 4e6}}}
    yield "milestone", {"kind": "start", "status": "done"}, {}
    yield "milestone", {"kind": "start", "status": "not_started", "month": month, "planned": "2024-11"}, {}
    yield "move", {"lon": 200, "lat": 37.0, "precision": "exact", "source": "x"}, {}
    yield "move", {"lon": 100.0, "lat": 30.0, "precision": "nowhere", "source": ""}, {}
    yield "problem", {"action": "open", "problem": "p1", "status": "open"}, {}
    yield "problem", {"action": "update"}, {}
    yield "problem", {"action": "update", "problem": "p9"}, {}
    yield "problem", {"action": "close", "problem": "p1", "month": month, "status": "open"},\
        {"problems": {"p1": {"status": "closed", "closed": "2024-05"}}}
    yield "problem", {"action": "update", "problem": "p2", "month": month}, {"problems": {"p2": {"status": "open"}}}
    yield "field", {"field": "level", "value": "galactic"}, {}
    yield "revert", {"event": "nope"}, {}
    yield "revert", {"event": "ev-000000000000"}, {}
    yield "note", {"text": "ok\u202e"}, {}


def test_each_refusal_of_the_app_forms_has_a_key_and_a_chinese_text(plan):
    pid = str(plan.projects["id"].iloc[0])
    seen = set()
    for kind, payload, state in bad_payloads(pid):
        problems = check(plan, state, kind, payload, reason="", project=pid, lookup=lambda _e: None)
        assert problems, (kind, payload)
        for p in problems:
            assert p.key.startswith("rf_"), p  # no English-only refusal left
            assert p.text("en") == p.message and p.brief_in("en") == p.brief
            zh = p.brief_in("zh")
            assert CJK.search(zh) and zh != p.brief, zh
            assert "{" not in zh and "}" not in zh
            seen.add(p.key)
    assert len(seen) >= 25  # the sweep reaches most of the catalogue


def test_attachments_and_terms():
    from zqmap.store.events import sniff_image

    assert sniff_image(b"GIF89a")[1] == "is not a JPEG or PNG image (content checked, not the name)"
    p = refused("p", "reason", "rf_milestone_final", status=("done",))
    assert p.brief == "reason: the milestone is already done; changing it needs a reason"
    assert p.brief_in("zh") == "修改原因：该节点已是“已完成”；修改需填写原因"
