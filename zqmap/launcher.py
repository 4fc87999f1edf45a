"""What ``zqmap serve`` runs: the Streamlit script in the app home.

Streamlit serves static files only from ``static/`` next to its main script,
and zqmap must never write inside the installed package. So an installed
zqmap runs a small *launcher* written into the app home
(:func:`zqmap.paths.home`, ``$ZQMAP_HOME``, default ``~/.cache/zqmap``)::

    <home>/app.py                  the launcher (rewritten on every `zqmap serve`)
    <home>/.streamlit/config.toml  Streamlit's settings, copied from the package
    <home>/static/vendor/          Leaflet and plugins (`zqmap assets install`)
    <home>/static/cache/           content-addressed JSON (zqmap.cache)

The launcher executes the app script the wheel carries as a package resource
(``zqmap/_app/app.py``, a build-time copy of the checkout's ``app.py``; see
``setup.py``). A checkout is its own home: when ``<home>/app.py`` is not a
launcher (``ZQMAP_HOME`` = the checkout, as ``scripts/zq`` sets it) it is run
as it is.
"""

from __future__ import annotations

import functools
import importlib.resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import CodeType

from zqmap.atomic import write_bytes

MARKER = "# zqmap launcher"
LAUNCHER = f"""{MARKER}: written by `zqmap serve`, rewritten on every start (edits are lost).
# Streamlit serves static/ (vendor/, cache/) from this directory; the app is the installed zqmap's.
from zqmap.launcher import run_packaged_app

run_packaged_app(globals())
"""


class LauncherError(RuntimeError):
    """``zqmap serve`` has no app script to run."""


def _resource(name: str) -> Traversable | None:
    res = importlib.resources.files("zqmap").joinpath("_app", name)
    return res if res.is_file() else None


def packaged_app() -> Traversable | None:
    """The app script inside the installed package (``None`` for a checkout or an editable install)."""
    return _resource("app.py")


@functools.cache
def _code() -> CodeType:
    app = packaged_app()
    if app is None:
        raise LauncherError("this zqmap has no packaged app script (zqmap/_app/app.py)")
    return compile(app.read_text(encoding="utf-8"), str(app), "exec", dont_inherit=True)


def run_packaged_app(namespace: dict) -> None:
    """Run the packaged app script in the launcher's namespace (so its ``__file__`` is the launcher's)."""
    exec(_code(), namespace)  # noqa: S102 - the installed package's own script


def _write_if_changed(path: Path, data: bytes) -> None:
    if not path.is_file() or path.read_bytes() != data:
        write_bytes(path, data, force=True)


def is_launcher(script: Path) -> bool:
    with open(script, encoding="utf-8", errors="replace") as fh:
        return fh.read(len(MARKER)) == MARKER


def prepare(home: Path) -> Path:
    """The script ``zqmap serve`` runs in ``home``, writing the launcher and its config when needed."""
    script = home / "app.py"
    if script.is_file() and not is_launcher(script):
        return script  # a checkout (its own app.py and .streamlit/config.toml)
    config = _resource("config.toml")
    if packaged_app() is None or config is None:
        raise LauncherError(
            f"nothing to serve in {home}: this zqmap is not installed from a wheel (an editable install of a "
            "checkout?). In a checkout run `scripts/zq run` (or `streamlit run app.py`), or set ZQMAP_HOME to "
            "the checkout.")
    _write_if_changed(home / ".streamlit" / "config.toml", config.read_bytes())
    _write_if_changed(script, LAUNCHER.encode("utf-8"))
    return script
