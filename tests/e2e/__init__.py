"""Browser tests (headless Chromium). A package so its conftest does not shadow tests/conftest.py."""
