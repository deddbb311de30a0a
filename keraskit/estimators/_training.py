"""Old module path of the training records, kept for pickles of release 0.1.0 (an alias)."""

from .._engine.records import Progress, TrainSpec

__all__ = ["Progress", "TrainSpec"]
