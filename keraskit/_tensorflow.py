"""TensorFlow and Keras for keraskit's modules, imported once without start-up chatter.

Every keraskit module that needs TensorFlow or Keras imports them from here
(``from .._tensorflow import keras, tf``), so whichever runs first imports them through
:func:`keraskit._config.import_tensorflow`. Importing keraskit itself imports neither.
"""

from ._config import import_tensorflow

tf, keras = import_tensorflow()

__all__ = ["keras", "tf"]
