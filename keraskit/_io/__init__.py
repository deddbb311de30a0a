"""File formats: a Keras model as ``.keras`` bytes, keraskit's pickle-free file, versions.

This room never imports an estimator or the training engine: the estimator classes and the
records they store register themselves in ``registry``, and an estimator attaches a loaded
network to itself through its own ``_attach_network`` method.
"""
