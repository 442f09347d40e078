"""Data flows one way: import-linter's contracts (pyproject.toml, [tool.importlinter]) hold
over the whole package, the folders pyproject maps into it (site/, search/, harvesters/)
included, so no module imports a layer above its own."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def installed_layout(into: Path) -> Path:
    """The package's modules laid out as a wheel installs them: import-linter reads a package
    from one folder, and the source tree keeps some subpackages in folders of their own."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    folders = {"catalogue": ROOT / "catalogue",
               **{name: ROOT / folder for name, folder in setuptools["package-dir"].items()}}
    for name in setuptools["packages"]:
        source = folders.get(name) or folders["catalogue"] / Path(*name.split(".")[1:])
        target = into / Path(*name.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for module in source.glob("*.py"):
            shutil.copy(module, target / module.name)
    return into


def test_imports_flow_one_way(tmp_path):
    tree = installed_layout(tmp_path / "tree")
    checked = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), str(ROOT / "pyproject.toml")],
                             cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "Contracts: 1 kept, 0 broken." in checked.stdout
    assert f"Analyzed {sum(1 for _ in tree.rglob('*.py'))} files" in checked.stdout  # every module, mapped or not
