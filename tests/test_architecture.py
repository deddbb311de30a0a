"""The layout holds: imports go one way, no cycles, vocabularies defined once, short functions.

``docs/architecture.md`` describes the rooms; ``lint-imports`` (run by ``make test``) holds
the contracts of ``pyproject.toml``. These tests check what the contracts do not say and
that the contracts can fail.
"""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from sklearn.base import is_regressor
from sklearn.utils._param_validation import StrOptions

import keraskit
from keraskit import (
    AutoencoderTransformer,
    CNNClassifier,
    CNNRegressor,
    ConvAutoencoderTransformer,
    MLPClassifier,
    MLPRegressor,
)
from keraskit._engine.devices import DISTRIBUTIONS, MIXED_PRECISIONS
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


#: Parameters whose choices are a vocabulary defined once, in the engine.
VOCABULARIES = {
    "solver": SOLVERS,
    "learning_rate": SCHEDULES,
    "activation": HIDDEN_ACTIVATIONS,
    "distribution": DISTRIBUTIONS,
    "mixed_precision": MIXED_PRECISIONS,
}
PUBLIC_CLASSES = [
    getattr(keraskit, name)
    for name in keraskit.__all__
    if isinstance(getattr(keraskit, name), type)
    and hasattr(getattr(keraskit, name), "_parameter_constraints")
]


def _documented_choices(cls, name):
    """The quoted choices on the docstring line of parameter ``name``."""
    lines = [line.strip() for line in cls.__doc__.splitlines()]
    (line,) = [line for line in lines if line.startswith(f"{name} : ")]
    return set(re.findall(r"'([^']*)'", line))


def test_every_public_class_with_choices_is_checked():
    names = {cls.__name__ for cls in PUBLIC_CLASSES}
    assert {"MLPClassifier", "CNNRegressor", "ConvAutoencoderTransformer"} <= names
    assert {"TabularClassifier", "TabularRegressor"} <= names


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_parameter_choices_and_docstrings_read_the_engines_vocabularies(cls):
    vocabularies = dict(VOCABULARIES)
    if is_regressor(cls()):
        vocabularies["loss"] = REGRESSION_LOSSES
    for name, constraints in cls._parameter_constraints.items():
        options = [c.options for c in constraints if isinstance(c, StrOptions)]
        if not options:
            continue
        if name in vocabularies:
            assert options[0] == set(vocabularies[name]), name  # the vocabulary, not a copy
            listed = "{" + ", ".join(f"'{v}'" for v in vocabularies[name])
            assert listed in cls.__doc__, name  # and in the vocabulary's order
        assert options[0] <= _documented_choices(cls, name), name  # every choice documented


def test_no_module_copies_a_vocabulary_into_a_literal():
    vocabularies = [set(v) for v in (*VOCABULARIES.values(), REGRESSION_LOSSES)]
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "StrOptions":
                literal = node.args[0] if node.args else None
                if isinstance(literal, ast.Set | ast.List | ast.Tuple):
                    values = {getattr(e, "value", None) for e in literal.elts}
                    if any(values & vocabulary for vocabulary in vocabularies):
                        copies.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert copies == []


def test_regression_losses_are_the_engines():
    for cls in (MLPRegressor, CNNRegressor):
        assert _options(cls, "loss") == set(REGRESSION_LOSSES)
        assert "{" + ", ".join(f"'{v}'" for v in REGRESSION_LOSSES) + "}" in cls.__doc__


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
