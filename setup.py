"""Build hook; everything else is in pyproject.toml.

The Streamlit script ``app.py`` and its settings ``.streamlit/config.toml`` live
at the repository root (``streamlit run app.py`` in a checkout). A built wheel
carries copies as the package resources ``zqmap/_app/app.py`` and
``zqmap/_app/config.toml``, which ``zqmap serve`` runs through its launcher in
the app home (zqmap/launcher.py). An editable install runs the checkout's files.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

APP_FILES = {"app.py": "app.py", ".streamlit/config.toml": "config.toml"}


class BuildPyWithApp(build_py):
    def _app_targets(self) -> dict[str, str]:
        return {src: str(Path(self.build_lib, "zqmap", "_app", name)) for src, name in APP_FILES.items()}

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for src, dest in self._app_targets().items():
            self.mkpath(str(Path(dest).parent))
            self.copy_file(src, dest)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outputs
        return outputs + list(self._app_targets().values())


setup(cmdclass={"build_py": BuildPyWithApp})
