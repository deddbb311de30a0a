"""numpydoc docstrings on every public class and function, parameters matching signatures."""

import inspect

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
