"""The project's layers import one way, lowest first:

    bootstrap -> configs -> movie_recs -> components -> pipeline -> kubeflow -> commands
    -> benchmarks

A module imports only from its own layer or the layers before it (``LAYERS``), and every
top-level package of the repository is a layer (tests/ excepted), so a new folder is checked
from its first file. Unit tests beside their modules (``<module>_test.py``) follow the same
rule and import nothing from tests/; no module of a layer (product or benchmark) imports
tests/ or a test. The imports are read with ``ast`` (no module is imported), so these tests
need no TensorFlow; the last one checks, in a fresh interpreter, that the device-side modules
stay TensorFlow-free.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# Lowest first. bootstrap: what every process sets before TensorFlow is imported;
# movie_recs: the custom artifact types the components produce; kubeflow: compiles and runs
# the pipeline on Kubeflow / Vertex AI; benchmarks: scripts that drive everything below.
LAYERS = (
    "bootstrap",
    "configs",
    "movie_recs",
    "components",
    "pipeline",
    "kubeflow",
    "commands",
    "benchmarks",
)
# Top-level packages that are not layers: the integration tests may import any layer.
NOT_LAYERS = ("tests",)
# What a device (or an app's tooling) imports: no TensorFlow behind any of them.
TENSORFLOW_FREE = (
    "commands.recommend",
    "commands.lineage",
    "commands.demo",
    "commands.models",
    "components.export.on_device_model",
    "components.export.serving",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, nested ones included;
    ``module`` is the file's module name (by default, from its path in the repository)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = (module or module_name(path)).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the file's package
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module
            found.append((node.lineno, module))
    return found


def layer_files() -> list[Path]:
    return sorted(
        path
        for layer in LAYERS
        for path in (REPO_ROOT / layer).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def test_every_layer_has_modules():
    for layer in LAYERS:
        assert (REPO_ROOT / layer / "__init__.py").is_file(), layer
    assert len(layer_files()) > 20


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in LAYERS else None


def wrong_imports(path: Path, module: str | None = None) -> list[str]:
    """Every import of a layer's file that breaks the rules: a later layer, or tests/."""
    own = layer_of(module or module_name(path))
    assert own, f"{path} is in no layer"
    wrong = []
    for line, imported in imported_modules(path, module):
        top = imported.split(".")[0]
        if top in NOT_LAYERS:
            wrong.append(f"line {line}: {imported} (no layer imports {top}/)")
        elif layer_of(imported) and LAYERS.index(top) > LAYERS.index(own):
            wrong.append(
                f"line {line}: {imported} ({top} comes after {own} in {' -> '.join(LAYERS)})"
            )
    return wrong


def test_every_top_level_package_is_a_layer():
    packages = {
        path.parent.name
        for path in REPO_ROOT.glob("*/__init__.py")
        if not path.parent.name.startswith(".")
    }
    assert packages - set(NOT_LAYERS) == set(LAYERS)


@pytest.mark.parametrize("path", layer_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_imports_go_one_way(path: Path):
    wrong = wrong_imports(path)
    assert not wrong, "\n".join(wrong)


def is_test(path: Path) -> bool:
    return path.name.endswith("_test.py")


def test_tests_beside_modules_import_nothing_from_tests():
    """A unit test beside its module stands alone: no helper from tests/ (the integration
    tests' folder), only its own layer and those before it (test_imports_go_one_way)."""
    wrong = [
        f"{path.relative_to(REPO_ROOT)} line {line}: {module}"
        for path in layer_files()
        if is_test(path)
        for line, module in imported_modules(path)
        if module.split(".")[0] == "tests"
    ]
    assert [p for p in layer_files() if is_test(p)], "no test beside a module was found"
    assert not wrong, "\n".join(wrong)


def test_every_test_beside_a_module_is_collected():
    """``make test`` and ``make unit`` collect pyproject.toml's testpaths: a folder missing
    there would leave its ``<module>_test.py`` files out of both."""
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    testpaths = re.findall(r'"([^"]+)"', re.search(r"^testpaths = \[(.*)\]$", text, re.M)[1])
    beside = [path for path in layer_files() if is_test(path)]
    missed = [
        str(path.relative_to(REPO_ROOT))
        for path in beside
        if path.relative_to(REPO_ROOT).parts[0] not in testpaths
    ]
    assert beside and not missed, f"not under pyproject.toml's testpaths: {missed}"


def test_no_module_imports_a_test_or_pytest():
    wrong = [
        f"{path.relative_to(REPO_ROOT)} line {line}: {module}"
        for path in layer_files()
        if not is_test(path)
        for line, module in imported_modules(path)
        if module.split(".")[-1].endswith("_test") or module.split(".")[0] == "pytest"
    ]
    assert not wrong, "\n".join(wrong)


def test_the_layer_check_sees_a_wrong_import(tmp_path):
    """The checker itself: a components module importing pipeline is found, relative or not."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from pipeline import paths\nfrom . import layout\nimport commands.recommend\n",
        encoding="utf-8",
    )
    modules = [module for _, module in imported_modules(probe, "components.export.probe")]
    assert modules == ["pipeline", "components.export", "commands.recommend"]


@pytest.mark.parametrize(
    ("module", "source", "found"),
    [
        ("movie_recs.probe", "import components\n", "components comes after movie_recs"),
        ("bootstrap.probe", "from configs import features\n", "configs comes after bootstrap"),
        ("kubeflow.probe", "from commands import data\n", "commands comes after kubeflow"),
        ("commands.probe", "import benchmarks.common\n", "benchmarks comes after commands"),
        ("benchmarks.probe", "from tests.browser import launch\n", "no layer imports tests/"),
        ("components.probe", "from ..tests import x\n", "no layer imports tests/"),
    ],
)
def test_the_layer_rules_refuse_a_wrong_import(tmp_path, module, source, found):
    """The rules themselves, on each new layer: a wrong import is reported, a right one not."""
    probe = tmp_path / "probe.py"
    probe.write_text(source, encoding="utf-8")
    assert [found in line for line in wrong_imports(probe, module)] == [True]
    probe.write_text(f"import bootstrap\nfrom . import sibling\n{source}", encoding="utf-8")
    assert len(wrong_imports(probe, module)) == 1  # its own layer and the lowest: allowed


@pytest.mark.parametrize("module", TENSORFLOW_FREE)
def test_device_side_modules_import_without_tensorflow(module):
    code = f"import sys, {module}; print('tensorflow' in sys.modules)"
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip().splitlines()[-1] == "False", f"{module} imports TensorFlow"
