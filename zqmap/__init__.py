"""zqmap — the interactive project map of 左权县 (Zuoquan County).

The core is a small set of modules, each with one job:

- :mod:`zqmap.register` loads and validates a data directory into GeoDataFrames;
- :mod:`zqmap.filters` selects projects (pure functions);
- :mod:`zqmap.mapview` turns a selection into folium layers;
- :mod:`zqmap.export` writes PDF/PNG, HTML and data files;
- :mod:`zqmap.cli` is the thin ``zqmap`` command line over all of them.
"""

__version__ = "0.1.0"
