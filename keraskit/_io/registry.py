"""The classes a keraskit file may name, filled in by the rooms that define them.

A file names its estimator class and the records in its state (architecture specs, training
bookkeeping) by class name; loading instantiates only classes registered here, so a crafted
file cannot make keraskit build anything else.
"""

from __future__ import annotations

_estimators: dict = {}
_records: dict = {}


def register_estimator(cls):
    """Allow ``cls`` (an estimator class with ``save``) in keraskit files; returns it.

    Parameters
    ----------
    cls : type
        The estimator class, registered under its ``__name__``.

    Returns
    -------
    cls : type
        Unchanged (so it can be used as a class decorator).
    """
    _estimators[cls.__name__] = cls
    return cls


def register_records(*classes):
    """Allow the dataclasses ``classes`` as values in a saved estimator's state.

    Parameters
    ----------
    *classes : type
        Dataclasses, registered under their ``__name__``.
    """
    for cls in classes:
        _records[cls.__name__] = cls


def estimator_classes():
    """``{name: class}`` of the registered estimators (a copy)."""
    return dict(_estimators)


def record_classes():
    """``{name: class}`` of the registered record dataclasses (a copy)."""
    return dict(_records)
