"""The maintainers' scripts: outdated.py asks the real package index which ranges leave out a current release;
verified_versions.py writes the README's "last verified" table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_outdated_names_each_range_behind_the_index_and_passes_the_current_ones(tmp_path):
    (pyproject := tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\n'
        'dependencies = ["pillow>=9,<10", "numpy>=1.20", "pandas>=2,<99", "packaging<20; python_version < \'3.11\'"]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=7,<8"]\n'
    )
    (lock := tmp_path / "lock.txt").write_text("pillow==9.5.0\npytest==7.4.4\n")
    cmd = [sys.executable, str(REPO / "scripts" / "outdated.py"), "--pyproject", str(pyproject), "--lock", str(lock)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:] if line.strip() and "  " in line}
    assert set(rows) == {"pillow", "numpy", "pytest"}, done.stdout  # behind, unbounded, behind (an extra)
    assert rows["pillow"][1:4] == ["runtime", "<10,>=9", "9.5.0"] and rows["pytest"][1] == "dev", rows
    assert "Held back on older Pythons on purpose" in done.stdout and "packaging<20" in done.stdout
    assert "3 of 5 ranges" in done.stdout


def test_verified_versions_writes_one_row_per_command_from_the_environment_or_a_report(tmp_path):
    import importlib.metadata
    import json
    import platform

    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- verified:start -->\n<!-- verified:end -->\n\nafter\n")
    script = [sys.executable, str(REPO / "scripts" / "verified_versions.py"), "--readme", str(readme)]
    run = dict(capture_output=True, text=True, timeout=120, check=False, cwd=REPO)
    assert subprocess.run([*script, "--row", "make test", "--backend", "tensorflow"], **run).returncode == 0
    report = {"python": "3.14.9", "platform": "Linux-6.1-x86_64-with-glibc2.41", "machine": "x86_64",
              "date": "2026-12-01", "expected_backend": "jax", "problems": [],
              "versions": {"tensorflow": None, "keras": "3.15.1", "jax": "0.12.1"}}  # fmt: skip
    (good := tmp_path / "report.json").write_text(json.dumps(report))
    assert subprocess.run([*script, "--row", "make test-newest (3.14)", "--report", str(good)], **run).returncode == 0
    text = readme.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| make")]
    assert (
        rows[1]
        == "| make test-newest (3.14) | 2026-12-01 | 3.14.9 | Linux x86_64 | jax | not installed | 3.15.1 | 0.12.1 |"
    )
    mine = rows[0].split(" | ")
    assert mine[2] == platform.python_version() and mine[6] == importlib.metadata.version("keras"), rows[0]
    assert text.endswith("<!-- verified:end -->\n\nafter\n")
    assert subprocess.run([*script, "--row", "make test", "--backend", "tensorflow"], **run).returncode == 0
    assert readme.read_text().count("| make test |") == 1, "a command's row is replaced, not added again"
    (bad := tmp_path / "bad.json").write_text(json.dumps(dict(report, problems=["02 ran on tensorflow"])))
    before = readme.read_text()
    done = subprocess.run([*script, "--row", "make test-newest (3.15)", "--report", str(bad)], **run)
    assert done.returncode != 0 and "problems" in done.stderr and readme.read_text() == before
