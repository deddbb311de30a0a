"""Device vocabularies: distribution strategies and mixed-precision compute dtypes.

Plain Python, read by the estimators' parameter constraints and docstrings when keraskit is
imported; ``distribute`` implements them.
"""

from __future__ import annotations

#: Values of the ``distribution`` parameter besides ``None`` (one device).
DISTRIBUTIONS = ("mirrored",)
#: Compute dtypes of the ``mixed_precision`` parameter (``True`` picks one per device).
MIXED_PRECISIONS = ("float16", "bfloat16")
