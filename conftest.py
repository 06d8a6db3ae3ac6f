"""pytest settings for the whole repository: load the nbval plugin in tests/nbval_strict.py, and keep the
series together when pytest-xdist runs tests on several workers (make test: pytest -n 2 --dist loadgroup)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
pytest_plugins = ["nbval_strict"]

# The notebooks run in order on one worker (each stands on the models the ones before it saved), and the
# browser tests after them there (they open the models nbval has just saved); every other test module runs
# whole on one worker, beside them, so a module's fixtures are set up once.
SERIES = "series"


def pytest_collection_modifyitems(config, items):
    for item in items:
        series = item.path.suffix == ".ipynb" or item.path.name == "test_browser.py"
        item.add_marker(pytest.mark.xdist_group(SERIES if series else item.path.stem))
