import shutil
import subprocess
import sys

import pytest

from sysai.paths import repo_root


@pytest.mark.skipif(shutil.which("mkdocs") is None and not (repo_root() / ".venv/bin/mkdocs").exists(),
                    reason="mkdocs is not installed (pip install -e '.[dev]')")
def test_docs_build_strict(tmp_path):
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=repo_root(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def test_readme_shows_the_two_commands():
    readme = (repo_root() / "README.md").read_text()
    assert "make tour" in readme and "make test" in readme
