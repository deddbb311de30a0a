"""Shared test settings: quiet TensorFlow (its C++ logs and oneDNN notices off); each
pytest-xdist worker imports TensorFlow once, with TensorFlow's own thread pools."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
