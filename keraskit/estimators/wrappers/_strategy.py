"""The distribution strategy a wrapper builds, compiles and trains its model under."""

from __future__ import annotations

from sklearn.utils._param_validation import validate_parameter_constraints

from ..._io.keras_bytes import model_to_bytes
from .._base import BaseKerasEstimator
from ._models import load_model


class StrategyMixin:
    """The distribution strategy of a fit (a mixin of ``BaseWrapper``)."""

    def _strategy(self):
        """The strategy ``distribution`` asks for (``None`` for none), checked first."""
        # the engine imports TensorFlow: loaded by the first fit or initialize, not with keraskit
        from ..._engine.distribute import get_strategy

        validate_parameter_constraints(  # the ready-made estimators' constraint and wording
            {"distribution": BaseKerasEstimator._parameter_constraints["distribution"]},
            {"distribution": self.distribution},
            caller_name=type(self).__name__,
        )
        return get_strategy(self.distribution)

    def _strategy_scope(self):
        # see _strategy
        from ..._engine.distribute import strategy_scope

        return strategy_scope(self._strategy())

    def _match_strategy(self):
        """Move a model kept for a warm start to this fit's strategy, optimizer state included.

        A model unpickled, or built before ``distribution`` changed, lives under another
        strategy than the one this fit asks for; Keras would train it where it lives. The
        ``.keras`` round trip keeps weights and optimizer state, not the generator states
        of random layers (they restart from their seeds).
        """
        # see _strategy
        from ..._engine.distribute import strategy_scope
        from ..._tensorflow import tf

        strategy = self._strategy()
        if self.model_.distribute_strategy is not (strategy or tf.distribute.get_strategy()):
            with strategy_scope(strategy):
                self.model_ = load_model(model_to_bytes(self.model_))
