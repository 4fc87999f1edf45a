"""Browser assets: pinned, checksummed, installed from npm, inlined for standalone HTML."""

import shutil

import pytest

from zqmap import assets


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
