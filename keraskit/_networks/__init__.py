"""Networks: architecture specs in, uncompiled Keras models out.

``specs`` and ``activations`` are plain Python (the estimators read them at import time);
``builders`` and ``augment`` import Keras and are loaded by the engine on the first fit.
This room imports nothing else of keraskit.
"""
