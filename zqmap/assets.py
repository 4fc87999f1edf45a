"""Browser assets (Leaflet and its plugins) served by zqmap itself, for offline use.

Stock folium loads Leaflet, jQuery, Bootstrap and plugins from public CDNs, so
on a network without internet the map is blank. zqmap instead installs the few
files it needs from the npm registry at setup time (``zqmap assets install``,
using the ordinary ``npm pack`` client), verifies each tarball's SHA-256, and
serves them from ``<home>/static/vendor/`` (:func:`zqmap.paths.vendor_dir`,
Streamlit static serving) or inlines them into standalone HTML exports. What
to fetch is the manifest ``zqmap/vendor.toml`` (a package resource). Nothing
third-party is committed to the repo, and nothing is written inside the
installed package. (The map's runtime cache is :mod:`zqmap.cache`.)

>>> [a.url_path for a in JS][0]
'vendor/leaflet/leaflet.js'
"""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import mimetypes
import re
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from zqmap import paths
from zqmap.atomic import write_bytes
from zqmap.paths import APP_STATIC_URL


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the npm tarball
    files: tuple[tuple[str, str], ...]  # (path inside the tarball's package/, path under vendor/)


@dataclass(frozen=True)
class Asset:
    url_path: str  # relative to the static root, e.g. vendor/leaflet/leaflet.js

    @property
    def path(self) -> Path:
        return paths.static_dir() / self.url_path


def _manifest() -> dict:
    return tomllib.loads(importlib.resources.files("zqmap").joinpath("vendor.toml").read_text(encoding="utf-8"))


_MANIFEST = _manifest()
PACKAGES: tuple[Package, ...] = tuple(
    Package(p["name"], p["version"], p["sha256"], tuple((src, dest) for src, dest in p["files"]))
    for p in _MANIFEST["package"])
# Load order matters: Leaflet first, then plugins.
JS: tuple[Asset, ...] = tuple(Asset(f"vendor/{f}") for f in _MANIFEST["js"])
CSS: tuple[Asset, ...] = tuple(Asset(f"vendor/{f}") for f in _MANIFEST["css"])
del _MANIFEST


class AssetsMissing(RuntimeError):
    """Raised when the browser assets are not installed."""


def all_files(vendor_dir: Path | None = None) -> list[Path]:
    """Every file the installer puts under the vendor directory."""
    root = paths.vendor_dir() if vendor_dir is None else vendor_dir
    return [root / dest for pkg in PACKAGES for _, dest in pkg.files]


def _present(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def missing(vendor_dir: Path | None = None) -> list[Path]:
    """Installed files that are absent or empty (empty list when everything is in place)."""
    return [p for p in all_files(vendor_dir) if not _present(p)]


def install(force: bool = False, vendor_dir: Path | None = None) -> list[Path]:
    """Fetch the pinned packages with ``npm pack``, verify them and unpack the needed files."""
    vendor_dir = paths.vendor_dir() if vendor_dir is None else vendor_dir
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsMissing("npm is needed once to install the map's browser assets "
                            "(Debian: apt-get install npm); then zqmap runs offline")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in PACKAGES:
            targets = [vendor_dir / dest for _, dest in pkg.files]
            if not force and all(_present(t) for t in targets):
                continue
            spec = f"{pkg.name}@{pkg.version}"
            proc = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                                  capture_output=True, text=True, timeout=300)
            if proc.returncode != 0:
                raise AssetsMissing(f"npm pack {spec} failed: {proc.stderr.strip()[-500:]}")
            tarball = Path(tmp) / proc.stdout.strip().splitlines()[-1]
            digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
            if digest != pkg.sha256:
                raise AssetsMissing(f"{spec}: tarball SHA-256 {digest} does not match the pinned {pkg.sha256}")
            contents: dict[str, bytes] = {}
            with tarfile.open(tarball) as tar:  # read every file first: a bad package writes nothing
                for src, dest in pkg.files:
                    try:
                        member = tar.extractfile(f"package/{src}")
                    except KeyError:
                        member = None
                    if member is None:
                        raise AssetsMissing(f"{spec}: {src} not in the package")
                    contents[dest] = member.read()
            written += [write_bytes(vendor_dir / dest, data, force=True) for dest, data in contents.items()]
    return written


def require() -> None:
    """Raise :class:`AssetsMissing` with the fix when files are absent."""
    absent = missing()
    if absent:
        raise AssetsMissing(f"{len(absent)} browser asset file(s) missing, e.g. {absent[0]}; "
                            "run `zqmap assets install` (needs the npm registry once)")


def app_urls() -> tuple[list[str], list[str]]:
    """(JS URLs, CSS URLs) as served by the Streamlit app."""
    return [APP_STATIC_URL + a.url_path for a in JS], [APP_STATIC_URL + a.url_path for a in CSS]


_CSS_URL_RE = re.compile(r"url\((['\"]?)([^'\")]+)\1\)")


def inline_css(asset: Asset) -> str:
    """The stylesheet's text with relative ``url(...)`` references turned into data: URIs."""
    text = asset.path.read_text(encoding="utf-8")
    base = asset.path.parent

    def embed(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")) or "://" in ref:
            return match.group(0)
        target = (base / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            return match.group(0)
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        data = base64.b64encode(target.read_bytes()).decode()
        return f'url("data:{mime};base64,{data}")'

    return _CSS_URL_RE.sub(embed, text)


def inline_js(asset: Asset) -> str:
    """The script's text, safe to put inside a ``<script>`` element."""
    return asset.path.read_text(encoding="utf-8").replace("</script", "<\\/script")
