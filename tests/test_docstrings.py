"""numpydoc docstrings on every public class and function, parameters matching signatures."""

import ast
import inspect
import re

import pytest
from numpydoc.validate import validate

import keraskit
import keraskit.datasets
import keraskit.pipelines

# GL08: no docstring; PR01/PR02: parameters missing from / unknown to the docstring;
# PR10: bad parameter formatting; RT01: returns not documented; SS01/SS03: no summary line.
CHECKED = {"GL08", "PR01", "PR02", "PR10", "RT01", "SS01", "SS03"}


MODULES = [keraskit, keraskit.pipelines, keraskit.datasets]


def _public_objects():
    for module in MODULES:
        names = getattr(module, "__all__", None) or [
            n
            for n, o in vars(module).items()
            if not n.startswith("_") and getattr(o, "__module__", None) == module.__name__
        ]
        for name in names:
            obj, path = getattr(module, name), f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                yield path
                for meth, member in inspect.getmembers(obj):
                    own = getattr(member, "__module__", "") or ""
                    if not meth.startswith("_") and callable(member) and own.startswith("keraskit"):
                        yield f"{path}.{meth}"
            elif callable(obj):
                yield path


@pytest.mark.parametrize("name", sorted(set(_public_objects())))
def test_numpydoc(name):
    errors = [(code, msg) for code, msg in validate(name)["errors"] if code in CHECKED]
    assert not errors, errors


def _documented_defaults(cls):
    """``{name: text after 'default='}`` of each parameter entry of ``cls``'s docstring."""
    found = re.findall(r"(?m)^    (\w+) : .*?, default=(.+)$", cls.__doc__)
    return dict(found)


@pytest.mark.parametrize("name", keraskit.__all__)
def test_documented_defaults_match_the_signature(name):
    cls = getattr(keraskit, name)
    if not inspect.isclass(cls):
        pytest.skip("not a class")
    documented = _documented_defaults(cls)
    signature = inspect.signature(cls.__init__).parameters
    compared = 0
    for param, text in documented.items():
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            continue  # e.g. np.inf, or prose
        if param in signature:
            assert signature[param].default == value, (param, text)
            compared += 1
    assert compared >= 0.5 * len(documented)
