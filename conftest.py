"""pytest settings for the whole repository: load the nbval plugin in tests/nbval_strict.py, and keep the
series together when pytest-xdist runs the tests on several workers (make test: pytest -n 2)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
pytest_plugins = ["nbval_strict"]


def series_or_module(nodeid: str) -> str:
    """The unit of work one worker takes whole: the notebooks, in order (each stands on the models the ones
    before it saved), with the browser tests after them (they open what nbval has just saved); else the
    test's module, so that a module's fixtures are set up once."""
    path = nodeid.split("::")[0]
    return "series" if path.endswith((".ipynb", "test_browser.py")) else path


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, called only where it runs the tests
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SeriesScheduling(LoadScopeScheduling):  # largest unit first: the series starts at once
        def _split_scope(self, nodeid: str) -> str:
            return series_or_module(nodeid)

    return SeriesScheduling(config, log)
