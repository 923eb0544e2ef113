"""`docs/plugins.md`, followed to the letter, makes a region's pathway plugin that works once installed.

The guide's files are written out as they are printed, built into a wheel by pip (as a region would,
with the build backend the guide names), installed into a throw-away folder, and the portal's command
line then lists the guide's pathway among those e-parcours offers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
PACKAGE = "bouquet-ma-region"
BLOCK = re.compile(r"```(?:toml|python|yaml)\n# (" + PACKAGE + r"/[^\n]+)\n(.*?)```", re.S)


def guide_files() -> dict[str, str]:
    return {path: body for path, body in BLOCK.findall(GUIDE.read_text())}


def test_the_guide_shows_every_file_and_links_the_pathway_format():
    files = guide_files()
    assert set(files) == {f"{PACKAGE}/pyproject.toml", f"{PACKAGE}/bouquet_ma_region/__init__.py",
                          f"{PACKAGE}/bouquet_ma_region/pathways/suivi-diabete-ma-region.yaml"}
    text = GUIDE.read_text()
    assert "plugins/eparcours/README.md" in text and "eparcours_pathways" in text
    # Every pyproject.toml the guide shows says how to build it.
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        if "[project]" in block:
            assert "[build-system]" in block, block


def test_the_guides_pathway_plugin_builds_installs_and_is_offered(tmp_path):
    source = tmp_path / "src"
    for path, body in guide_files().items():
        target = source / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(dist), str(source / PACKAGE)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("bouquet_ma_region-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "bouquet_ma_region/pathways/suivi-diabete-ma-region.yaml" in names, names

    installed = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
                               capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "BOUQUET_DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}"}
    env.pop("BOUQUET_PLUGINS", None)
    listed = subprocess.run([sys.executable, "-m", "bouquet", "eparcours-pathways"], capture_output=True, text=True,
                            timeout=300, env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("suivi-diabete-ma-region "))
    assert "2026.1" in line and "module ma_region" in line
