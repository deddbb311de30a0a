"""The format version of keraskit's pickled state and saved files."""

from __future__ import annotations

#: Bumped when the pickled state of an estimator changes incompatibly.
#: 2: the ``mixed_precision`` and ``distribution`` parameters (absent from format 1).
FORMAT_VERSION = 2

#: Parameters added in a format, with the value that keeps an older estimator's behaviour.
ADDED_PARAMETERS = {2: {"mixed_precision": False, "distribution": None}}


def upgrade_state(state, what):
    """Check the format of pickled estimator ``state`` and bring it to the current one.

    Parameters
    ----------
    state : dict
        The pickled ``__dict__``, with the ``_keraskit_format`` key its writer added; the key
        is removed and absent parameters get their defaults.
    what : str
        How to name the object in the error (its class name).

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
            f"This {what} was saved by a newer keraskit (format {version}); this version "
            f"reads format {FORMAT_VERSION} and older. Upgrade keraskit."
        )
    for added in range(version + 1, FORMAT_VERSION + 1):
        for name, default in ADDED_PARAMETERS.get(added, {}).items():
            state.setdefault(name, default)
    return state
