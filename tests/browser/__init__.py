"""End-to-end tests in a real browser: JupyterLab with the nbgrader extensions, driven by
Debian's chromium through Playwright (see conftest.py)."""
