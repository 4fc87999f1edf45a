"""Before setup: the app says in the page what is missing and the one command that installs it.

Many Streamlit users start an app with ``streamlit run app.py`` on a fresh clone,
before any setup: zqmap's dependencies (geopandas, …) or the map's browser
assets are then missing, and the page would show a traceback or an empty map.
:func:`preflight`, called at the very top of ``app.py``, checks first and
explains in Chinese and English, naming the command (``scripts/zq run`` in a
checkout). Missing Python packages, or a version outside the range zqmap
supports (:data:`zqmap._compat.SUPPORTED`), stop the page; missing browser
assets only warn (the filters and the table still work).

It imports only the standard library, Streamlit (which is running the page) and
zqmap modules that need nothing else.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from zqmap import _compat, assets, paths

CHECKOUT_COMMAND = "scripts/zq run"
ASSETS_COMMAND = "zqmap assets install"


_PACKAGES_OK = False  # the Python side is checked until it passes once per process
_READY: dict[str, str] = {}  # script -> its app home, once everything was found in place: reruns skip the checks


def missing_distributions() -> list[str]:
    """Distributions zqmap imports that cannot be found, e.g. ``["geopandas", "PyYAML"]``."""
    return sorted({dist for module, dist in _compat.IMPORTS.items() if importlib.util.find_spec(module) is None})


def is_checkout(home: Path) -> bool:
    """Whether ``home`` is a zqmap checkout (it has the setup script)."""
    return (home / "scripts" / "zq").is_file()


def missing_packages_text(absent: list[str]) -> str:
    names = ", ".join(absent)
    return (f"**zqmap 尚未安装完成**：缺少 Python 包 {names}。请在项目目录中运行下面这一条命令，"
            f"它会安装所需的一切并启动地图。\n\n"
            f"**zqmap is not set up yet**: the Python packages {names} are missing. Run this one command in the "
            f"project directory; it installs everything and starts the map.")


def unsupported_text(problems: list[str]) -> str:
    lines = "\n".join(f"- {p}" for p in problems)
    return (f"**zqmap 依赖的版本不受支持**，请安装经过测试的版本（下面这一条命令）。\n\n"
            f"**A package zqmap relies on has an unsupported version**; install the tested versions "
            f"with this one command.\n\n{lines}")


def unsupported_versions() -> list[str]:
    """One line per library whose internals zqmap uses and whose installed version is outside its range."""
    return [wrong for dist in _compat.SUPPORTED if (wrong := _compat.problem(dist)) is not None]


def missing_assets_text(n: int, vendor_dir: Path) -> str:
    return (f"**地图文件未安装**：缺少 {n} 个浏览器文件（Leaflet 等，应在 `{vendor_dir}`），地图无法显示；"
            f"筛选和表格仍可使用。请运行下面这一条命令（只需联网一次）。\n\n"
            f"**The map's browser files are not installed**: {n} file(s) (Leaflet and plugins, expected in "
            f"`{vendor_dir}`) are missing, so the map cannot be drawn; filters and tables still work. "
            f"Run this one command (it needs the npm registry once).")


def preflight(script: str | os.PathLike) -> None:
    """Make ``script``'s directory the app home, then stop or warn in the page if setup is incomplete."""
    key = os.fspath(script)
    if key in _READY and os.environ.get(paths.HOME_ENV) == _READY[key]:
        return
    import streamlit as st

    home = paths.use_home(script)
    checkout = is_checkout(home)
    global _PACKAGES_OK
    if not _PACKAGES_OK:
        absent = missing_distributions()
        wrong = [] if absent else unsupported_versions()
        if absent or wrong:
            st.error(missing_packages_text(absent) if absent else unsupported_text(wrong))
            st.code(CHECKOUT_COMMAND if checkout else "pip install zqmap-*.whl", language="bash")
            st.stop()
        _PACKAGES_OK = True
    gone = assets.missing()
    if gone:
        st.warning(missing_assets_text(len(gone), paths.vendor_dir()))
        st.code(CHECKOUT_COMMAND if checkout else ASSETS_COMMAND, language="bash")
    else:
        _READY[key] = str(home)
