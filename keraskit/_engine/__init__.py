"""The training engine: training and inference of networks, knowing nothing of estimators.

Plain-Python modules (``records``, ``losses``, ``optimizers``, ``schedules``) hold the
vocabularies and records that estimators read when keraskit is imported; the others import
TensorFlow and are loaded on the first fit or predict. See ``docs/architecture.md``.
"""
