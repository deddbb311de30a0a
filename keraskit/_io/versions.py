"""The format version of keraskit's pickled state and saved files."""

from __future__ import annotations

#: Bumped when the pickled state of an estimator changes incompatibly.
#: 2: the ``mixed_precision`` and ``distribution`` parameters (absent from format 1).
#: 3: the optimizer state and best weights in a ``Resume`` record of their own (format 2
#: kept them in ``Progress``; the estimators move them on loading).
FORMAT_VERSION = 3

#: Parameters added since format 1, with the value that keeps an older estimator's behaviour.
ADDED_PARAMETERS = {"mixed_precision": False, "distribution": None, "progress_bar": False}


def upgrade_state(state, parameters):
    """Check the format of pickled estimator ``state`` and bring it to the current one.

    Parameters
    ----------
    state : dict
        The pickled ``__dict__``, with the ``_keraskit_format`` key its writer added; the key
        is removed.
    parameters : iterable of str
        The estimator class's parameters: those added since the state was written get the
        default that keeps the old behaviour.

    Returns
    -------
    state : dict
        A new dict.

    Raises
    ------
    ValueError
        If a newer keraskit wrote the state.
    """
    state = dict(state)
    version = state.pop("_keraskit_format", FORMAT_VERSION)
    if version > FORMAT_VERSION:
        raise ValueError(
            f"This estimator was saved by a newer keraskit (format {version}); this version "
            f"reads format {FORMAT_VERSION} and older. Upgrade keraskit."
        )
    for name in set(parameters) & set(ADDED_PARAMETERS):
        state.setdefault(name, ADDED_PARAMETERS[name])
    return state
