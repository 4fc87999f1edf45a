"""Browser assets: pinned, checksummed, installed from npm, inlined for standalone HTML."""

import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from zqmap import assets, cli, paths


def test_every_js_and_css_is_an_installed_file():
    installed = {f"vendor/{dest}" for pkg in assets.PACKAGES for _, dest in pkg.files}
    for asset in (*assets.JS, *assets.CSS):
        assert asset.url_path in installed


def test_installed():
    assert assets.missing() == [], "run `zqmap assets install`"


def test_inline_css_embeds_images():
    css = assets.inline_css(assets.CSS[0])  # leaflet.css references images/layers.png
    assert "data:image/png;base64," in css
    assert "url(images/" not in css


def test_inline_js_cannot_close_the_script_element():
    assert "</script" not in assets.inline_js(assets.JS[0])


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_install_into_empty_dir_verifies_checksums(tmp_path):
    # npm serves from its cache when the registry is unreachable; the SHA-256 pins the content.
    try:
        written = assets.install(vendor_dir=tmp_path)
    except assets.AssetsMissing as exc:
        pytest.skip(f"npm registry unreachable: {exc}")
    assert {p.relative_to(tmp_path).as_posix() for p in written} == {
        dest for pkg in assets.PACKAGES for _, dest in pkg.files}


def test_tampered_tarball_is_refused(tmp_path, monkeypatch):
    bad = assets.Package("leaflet", "1.9.4", "0" * 64, (("dist/leaflet.js", "leaflet/leaflet.js"),))
    monkeypatch.setattr(assets, "PACKAGES", (bad,))
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    with pytest.raises(assets.AssetsMissing, match="does not match"):
        assets.install(vendor_dir=tmp_path)
    assert not (tmp_path / "leaflet/leaflet.js").exists()


# --------------------------------------------------------------------------
# A missing asset is found and named; checksums pin the tarballs (offline, with a stand-in npm)


@pytest.fixture
def home_with_assets(tmp_path, monkeypatch):
    """An app home holding a copy of the installed vendor files."""
    source = paths.vendor_dir()
    assert not assets.missing(source), "run `zqmap assets install`"
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "home"))
    shutil.copytree(source, paths.vendor_dir())
    return paths.vendor_dir()


def test_a_missing_or_empty_asset_is_reported(home_with_assets, capsys):
    assert assets.missing() == []
    assert cli.main(["assets", "check"]) == 0
    gone = home_with_assets / "leaflet.markercluster" / "leaflet.markercluster.js"
    gone.unlink()
    empty = home_with_assets / "leaflet" / "leaflet.css"
    empty.write_bytes(b"")
    assert assets.missing() == [empty, gone]
    with pytest.raises(assets.AssetsMissing, match="2 browser asset file"):
        assets.require()
    capsys.readouterr()
    assert cli.main(["assets", "check"]) == 1
    assert capsys.readouterr().out.splitlines() == [f"missing: {empty}", f"missing: {gone}"]


def test_the_standalone_html_export_refuses_to_go_without_assets(home_with_assets, dataset, tmp_path):
    from zqmap.export import View, write
    from zqmap.filters import Filter

    (home_with_assets / "leaflet" / "leaflet.js").unlink()
    with pytest.raises(assets.AssetsMissing):
        write(View.of(dataset, Filter(), "zh"), "html", tmp_path / "map.html")
    assert not (tmp_path / "map.html").exists()


def test_manifest_is_complete():
    assert [p.name for p in assets.PACKAGES] == ["leaflet", "leaflet.markercluster", "leaflet.fullscreen"]
    for pkg in assets.PACKAGES:
        assert re.fullmatch(r"[0-9a-f]{64}", pkg.sha256), pkg
        assert all(dest.startswith(f"{pkg.name}/") for _, dest in pkg.files), pkg
    dests = [dest for pkg in assets.PACKAGES for _, dest in pkg.files]
    assert len(dests) == len(set(dests))


def _fake_npm(tmp_path, monkeypatch, tarball: Path) -> None:
    """An ``npm`` on PATH whose ``npm pack`` copies ``tarball`` to --pack-destination."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(f"""#!{sys.executable}
import shutil, sys
dest = sys.argv[sys.argv.index("--pack-destination") + 1]
shutil.copy({str(tarball)!r}, dest)
print({tarball.name!r})
""", encoding="utf-8")
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def _tarball(tmp_path, files: dict[str, bytes]) -> Path:
    path = tmp_path / "leaflet-1.9.4.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.skipif(os.name != "posix", reason="the stand-in npm is a POSIX script")
def test_install_checks_the_tarball_checksum_and_writes_atomically(tmp_path, monkeypatch):
    tarball = _tarball(tmp_path, {"dist/leaflet.js": b"L = {};", "LICENSE": b"BSD"})
    _fake_npm(tmp_path, monkeypatch, tarball)
    files = (("dist/leaflet.js", "leaflet/leaflet.js"), ("LICENSE", "leaflet/LICENSE"))
    good = assets.Package("leaflet", "1.9.4", hashlib.sha256(tarball.read_bytes()).hexdigest(), files)
    monkeypatch.setattr(assets, "PACKAGES", (good,))
    vendor = tmp_path / "vendor"
    written = assets.install(vendor_dir=vendor)
    assert [p.relative_to(vendor).as_posix() for p in written] == ["leaflet/leaflet.js", "leaflet/LICENSE"]
    assert (vendor / "leaflet" / "leaflet.js").read_bytes() == b"L = {};"
    assert sorted(p.name for p in (vendor / "leaflet").iterdir()) == ["LICENSE", "leaflet.js"]  # no temp files
    assert assets.install(vendor_dir=vendor) == []  # already there

    bad = assets.Package("leaflet", "1.9.4", "f" * 64, files)
    monkeypatch.setattr(assets, "PACKAGES", (bad,))
    with pytest.raises(assets.AssetsMissing, match="does not match the pinned"):
        assets.install(force=True, vendor_dir=tmp_path / "other")
    assert not (tmp_path / "other").exists()

    incomplete = assets.Package("leaflet", "1.9.4", good.sha256, (*files, ("dist/leaflet.css", "leaflet/x.css")))
    monkeypatch.setattr(assets, "PACKAGES", (incomplete,))
    with pytest.raises(assets.AssetsMissing, match=r"dist/leaflet\.css not in the package"):
        assets.install(force=True, vendor_dir=tmp_path / "third")
    assert not (tmp_path / "third").exists()
