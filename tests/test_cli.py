"""The command line: exit codes, messages, refusing to overwrite."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, project

from zqmap.cli import main


def test_validate_bundled(capsys):
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_python_dash_m_works():
    proc = subprocess.run([sys.executable, "-m", "zqmap", "validate"], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "projects" in proc.stdout


def test_validate_broken_prints_no_traceback(make_register):
    data = make_register([project(sector="mining")])
    proc = subprocess.run([sys.executable, "-m", "zqmap", "validate", "--data", str(data)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith("projects.yaml:")


def test_export_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "x.csv"
    assert main(["export", "--format", "csv", "--out", str(out)]) == 0
    before = out.read_bytes()
    assert main(["export", "--format", "csv", "--out", str(out), "--sector", "industry"]) == 1
    assert "--force" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert main(["export", "--format", "csv", "--out", str(out), "--sector", "industry", "--force"]) == 0
    assert out.read_bytes() != before


def test_export_with_own_data(make_register, tmp_path):
    data = make_register([project("a"), project("b", sector="livelihood")])
    out = tmp_path / "x.geojson"
    assert main(["export", "-f", "geojson", "-o", str(out), "--data", str(data), "--sector", "livelihood"]) == 0
    import json

    assert [f["id"] for f in json.loads(out.read_text())["features"]] == ["b"]


def test_bad_month_is_a_usage_error(tmp_path, capsys):
    assert main(["export", "-f", "csv", "-o", str(tmp_path / "x.csv"), "--from", "2024-13"]) == 2
    assert "not a month" in capsys.readouterr().err


def test_list(capsys):
    assert main(["list", "--sector", "industry", "--lang", "en"]) == 0
    captured = capsys.readouterr()
    assert "Industry" in captured.out and "of" in captured.err


def test_unknown_sector_is_rejected_by_argparse():
    with pytest.raises(SystemExit) as exc:
        main(["list", "--sector", "mining"])
    assert exc.value.code == 2
