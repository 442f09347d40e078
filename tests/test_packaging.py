"""The wheel builds without a warning and carries everything the demo needs: installed with
plain pip (not editable) into an environment of its own, it harvests every bundled source."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_wheel_harvests_every_demo_source(tmp_path):
    # Built from a copy: setuptools keeps files of earlier builds in the tree's build/.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "data", "*.egg-info", "node_modules", "__pycache__", ".*_cache", ".hypothesis"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(source)], check=True, capture_output=True, text=True)
    # setuptools warns when it has to guess (a data folder taken for a package, say)
    assert "warning" not in (build.stdout + build.stderr).lower(), build.stdout + build.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    # The dependencies come from the test environment (a path, not a site directory, so its
    # editable install of this project is not seen); the project itself only from the wheel.
    [site_packages] = (env / "lib").glob("python*/site-packages")
    (site_packages / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True)

    settings = {name: value for name, value in os.environ.items() if not name.startswith("CATALOGUE_")}
    for edition in ("1", "2"):  # the second edition's files are shipped too
        harvest = subprocess.run([str(env / "bin" / "catalogue"), "harvest", "--demo-edition", edition],
                                 cwd=tmp_path, capture_output=True, text=True,
                                 env={**settings, "CATALOGUE_DATA_DIR": str(tmp_path / "data")})
        assert harvest.returncode == 0, harvest.stdout + harvest.stderr
        assert " ok:" in harvest.stdout + harvest.stderr and "failed" not in harvest.stdout + harvest.stderr
    installed = subprocess.run([str(env / "bin" / "python"), "-c", "import catalogue; print(catalogue.__file__)"],
                               cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert str(site_packages) in installed  # the wheel's copy ran, not the working tree
