"""pytest settings for the whole repository: load the nbval plugin in tests/nbval_strict.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
pytest_plugins = ["nbval_strict"]
