"""Browser assets (Leaflet and its plugins) served by zqmap itself, for offline use.

Stock folium loads Leaflet, jQuery, Bootstrap and plugins from public CDNs, so
on a network without internet the map is blank. zqmap instead installs the few
files it needs from the npm registry at setup time (``zqmap assets install``,
using the ordinary ``npm pack`` client), verifies each tarball's SHA-256, and
serves them from ``static/vendor/`` (Streamlit static serving) or inlines them
into standalone HTML exports. Nothing third-party is committed to the repo.

>>> [a.url_path for a in JS][0]
'vendor/leaflet/leaflet.js'
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from zqmap.atomic import write_bytes
from zqmap.paths import STATIC_DIR, VENDOR_DIR


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    sha256: str  # of the npm tarball
    files: tuple[tuple[str, str], ...]  # (path inside the tarball's package/, path under vendor/)


PACKAGES: tuple[Package, ...] = (
    Package(
        "leaflet", "1.9.4", "84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77",
        (("dist/leaflet.js", "leaflet/leaflet.js"), ("dist/leaflet.css", "leaflet/leaflet.css"),
         ("dist/images/layers.png", "leaflet/images/layers.png"),
         ("dist/images/layers-2x.png", "leaflet/images/layers-2x.png"),
         ("dist/images/marker-icon.png", "leaflet/images/marker-icon.png"),
         ("dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"),
         ("dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"),
         ("LICENSE", "leaflet/LICENSE")),
    ),
    Package(
        "leaflet.markercluster", "1.5.3", "fc6b0b1d00b6c708ae54e43ee4a11ac345e41660e19f0a570190bb35babb1a1c",
        (("dist/leaflet.markercluster.js", "leaflet.markercluster/leaflet.markercluster.js"),
         ("dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"),
         ("dist/MarkerCluster.Default.css", "leaflet.markercluster/MarkerCluster.Default.css"),
         ("MIT-LICENCE.txt", "leaflet.markercluster/MIT-LICENCE.txt")),
    ),
    Package(
        "leaflet.fullscreen", "3.0.2", "1067196073eba159d06973ceeede9bc3cb289bd213dc2434d3539d20084c2a04",
        (("Control.FullScreen.js", "leaflet.fullscreen/Control.FullScreen.js"),
         ("Control.FullScreen.css", "leaflet.fullscreen/Control.FullScreen.css"),
         ("icon-fullscreen.svg", "leaflet.fullscreen/icon-fullscreen.svg"),
         ("LICENSE", "leaflet.fullscreen/LICENSE")),
    ),
)


@dataclass(frozen=True)
class Asset:
    url_path: str  # relative to the static root, e.g. vendor/leaflet/leaflet.js

    @property
    def path(self) -> Path:
        return VENDOR_DIR.parent / self.url_path


# Load order matters: Leaflet first, then plugins.
JS: tuple[Asset, ...] = (
    Asset("vendor/leaflet/leaflet.js"),
    Asset("vendor/leaflet.markercluster/leaflet.markercluster.js"),
    Asset("vendor/leaflet.fullscreen/Control.FullScreen.js"),
)
CSS: tuple[Asset, ...] = (
    Asset("vendor/leaflet/leaflet.css"),
    Asset("vendor/leaflet.markercluster/MarkerCluster.css"),
    Asset("vendor/leaflet.markercluster/MarkerCluster.Default.css"),
    Asset("vendor/leaflet.fullscreen/Control.FullScreen.css"),
)

# Where Streamlit serves static/ (server.enableStaticServing, see .streamlit/config.toml).
APP_STATIC_URL = "/app/static/"


class AssetsMissing(RuntimeError):
    """Raised when the browser assets are not installed."""


def all_files() -> list[Path]:
    """Every file the installer puts under ``static/vendor``."""
    return [VENDOR_DIR / dest for pkg in PACKAGES for _, dest in pkg.files]


def missing() -> list[Path]:
    """Installed files that are absent (empty when everything is in place)."""
    return [p for p in all_files() if not p.is_file()]


def install(force: bool = False, vendor_dir: Path = VENDOR_DIR) -> list[Path]:
    """Fetch the pinned packages with ``npm pack``, verify them and unpack the needed files."""
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsMissing("npm is needed once to install the map's browser assets "
                            "(Debian: apt-get install npm); then zqmap runs offline")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in PACKAGES:
            targets = [vendor_dir / dest for _, dest in pkg.files]
            if not force and all(t.is_file() for t in targets):
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
            with tarfile.open(tarball) as tar:
                for src, dest in pkg.files:
                    member = tar.extractfile(f"package/{src}")
                    if member is None:
                        raise AssetsMissing(f"{spec}: {src} not in the package")
                    written.append(write_bytes(vendor_dir / dest, member.read(), force=True))
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


def publish_json(prefix: str, text: str, keep: int) -> str | None:
    """Serve ``text`` as ``static/cache/<prefix>-<hash>.json`` and return its app URL.

    Named by content, so browsers may cache it for good and a data change gets a
    new URL. Written once (atomically); only the ``keep`` newest files per prefix
    stay. Returns ``None`` if the static directory is not writable: callers then
    embed the data instead.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    name = f"{prefix}-{digest}.json"
    path = STATIC_DIR / "cache" / name
    if not path.exists():
        try:
            write_bytes(path, text.encode("utf-8"), force=True)
        except OSError:
            return None
        files = sorted(path.parent.glob(f"{prefix}-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[keep:]:
            old.unlink(missing_ok=True)
    return APP_STATIC_URL + "cache/" + name
