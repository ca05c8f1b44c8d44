"""The documentation builds with warnings as errors, executing every gallery example."""

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_build_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    html = tmp_path / "html"
    gallery = (html / "auto_examples" / "index.html").read_text()
    for example in sorted((DOCS.parent / "examples").glob("plot_*.py")):
        assert example.stem in gallery
        page = (html / "auto_examples" / f"{example.stem}.html").read_text()
        assert "sphx_glr_" in page and ".png" in page  # executed, with a figure
    assert "AgeRegressor" in (html / "generated" / "sklearn_age.AgeRegressor.html").read_text()
