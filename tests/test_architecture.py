"""The layout holds: imports go one way, no cycles, vocabularies defined once, short functions.

``docs/architecture.md`` describes the rooms; ``lint-imports`` (run by ``make test``) holds
the contracts of ``pyproject.toml``. These tests check what the contracts do not say and
that the contracts can fail.
"""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import keraskit
from keraskit import (
    AutoencoderTransformer,
    CNNClassifier,
    ConvAutoencoderTransformer,
    MLPClassifier,
    MLPRegressor,
)
from keraskit._engine.losses import REGRESSION_LOSSES
from keraskit._engine.optimizers import SOLVERS
from keraskit._engine.schedules import SCHEDULES
from keraskit._networks.activations import HIDDEN_ACTIVATIONS

PACKAGE = Path(keraskit.__file__).parent
ROOT = PACKAGE.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_no_module_imports_a_module_that_imports_it_back():
    graph = grimp.build_graph("keraskit")
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(f"{module} -> {imported}")
    assert cycles == []


def _lint_imports(root):
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "module, bad_import, contract",
    [
        ("_engine/loop.py", "from ..estimators import _base", "Rooms import one way"),
        ("_io/safe_file.py", "from .._engine import cache", "Rooms import one way"),
        ("_networks/specs.py", "from .. import _engine", "Rooms import one way"),
        ("pipelines/tabular.py", "from .._engine import records", "Pipelines compose"),
        ("estimators/_heads.py", "from . import mlp", "No import cycle"),
    ],
)
def test_the_import_contracts_fail_on_an_import_that_breaks_them(
    tmp_path, module, bad_import, contract
):
    copy = tmp_path / "keraskit"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert _lint_imports(tmp_path).returncode == 0  # the copy keeps them
    target = copy / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert contract in result.stdout.split("Broken contracts")[-1]


def _options(cls, name):
    (constraint,) = [c for c in cls._parameter_constraints[name] if hasattr(c, "options")]
    return constraint.options


@pytest.mark.parametrize(
    "cls", [MLPClassifier, MLPRegressor, CNNClassifier, AutoencoderTransformer]
)
def test_parameter_choices_and_docstrings_read_the_engines_vocabularies(cls):
    assert _options(cls, "solver") == set(SOLVERS)
    assert _options(cls, "learning_rate") == set(SCHEDULES)
    assert _options(cls, "activation") == set(HIDDEN_ACTIVATIONS)
    doc = cls.__doc__
    for vocabulary in (SOLVERS, SCHEDULES, HIDDEN_ACTIVATIONS):
        assert "{" + ", ".join(f"'{v}'" for v in vocabulary) + "}" in doc


def test_regression_losses_are_the_engines():
    assert _options(MLPRegressor, "loss") == set(REGRESSION_LOSSES)
    assert "{" + ", ".join(f"'{v}'" for v in REGRESSION_LOSSES) + "}" in MLPRegressor.__doc__


def test_the_base_class_asks_for_no_architecture_parameter_by_name():
    source = (PACKAGE / "estimators" / "_base.py").read_text()
    names = set(CNNClassifier().get_params()) | set(ConvAutoencoderTransformer().get_params())
    shared = set(MLPClassifier().get_params()) & set(AutoencoderTransformer().get_params())
    own = sorted(names - shared)
    tree = ast.parse(source)
    read = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    read |= {
        n.args[1].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and getattr(n.func, "id", None) == "getattr"
        and len(n.args) > 1
        and isinstance(n.args[1], ast.Constant)
    }
    assert [name for name in own if name in read] == []


def _functions():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield path.relative_to(ROOT), node


def test_no_function_is_longer_than_sixty_lines_of_code():
    long = []
    for path, node in _functions():
        length = node.end_lineno - node.lineno + 1
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            length -= first.end_lineno - first.lineno + 1  # the docstring
        if length > 60:
            long.append(f"{path}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def _explained(lines, lineno):
    """Whether the import at ``lineno`` (1-based) has a comment on it or above its group."""
    if "#" in lines[lineno - 1]:
        return True
    k = lineno - 2
    while k >= 0 and (not lines[k].strip() or lines[k].strip().startswith(("import ", "from "))):
        k -= 1
    return k >= 0 and lines[k].strip().startswith("#")


def test_imports_inside_functions_are_optional_dependencies_or_say_why():
    optional = ("matplotlib", "rich", "dask", "dask_ml", "ray")
    unexplained = []
    for path, node in _functions():
        lines = (ROOT / path).read_text().splitlines()
        for stmt in ast.walk(node):
            if not isinstance(stmt, ast.Import | ast.ImportFrom):
                continue
            names = [a.name for a in stmt.names] if isinstance(stmt, ast.Import) else []
            names.append(getattr(stmt, "module", None) or "")
            if any(n.split(".")[0] in optional for n in names if n):
                continue
            if not _explained(lines, stmt.lineno):
                unexplained.append(f"{path}:{stmt.lineno} in {node.name}")
    assert unexplained == []
