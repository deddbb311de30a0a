"""Compile arguments of the wrappers.

The optimizer, loss and metrics built with their routed parameters, each item of a list or
dict with its own, as scikeras builds them; keraskit's weighted-mean reduction for the
losses it builds.
"""

from __future__ import annotations

import inspect
import re

from ._routing import BARE_COMPILE, make_keras_object, make_keras_objects


class CompileMixin:
    """Compile arguments (a mixin of ``BaseWrapper``)."""

    def _compile_kwargs(self, width=None, out_dtype=None):
        from ..._tensorflow import keras  # the model function imported it already

        kwargs = {k: v for k, v in self._kwargs.items() if k in BARE_COMPILE}
        kwargs.update(self._routed("compile"))
        if self.optimizer is None:
            raise ValueError(
                "optimizer=None: You must provide an optimizer (a name such as 'adam', a "
                "keras.optimizers class or instance)."
            )
        kwargs["optimizer"] = make_keras_objects(
            "optimizer", self.optimizer, self._routed("optimizer"), keras.optimizers
        )
        loss = self._loss_or_default(width)
        _check_some_loss(loss)

        def make_loss(item, routed):
            keras_own = isinstance(item, str) or (
                isinstance(item, type) and item.__module__.startswith("keras.")
            )
            if keras_own:
                # the weighted mean (sum of w * loss / sum of w), not Keras' sum / batch
                # size: then the scale of sample weights does not matter and integer weights
                # act exactly as repeated rows
                routed = {"reduction": "mean_with_sample_weight", **routed}
                if out_dtype == "float64":
                    routed = {"dtype": out_dtype, **routed}  # a float64 model's loss too
            return make_keras_object("loss", item, routed, keras.losses)

        kwargs["loss"] = make_keras_objects(
            "loss", loss, self._routed("loss"), keras.losses, make_loss
        )
        if self.metrics is not None:
            metrics = (
                self.metrics if isinstance(self.metrics, (list, tuple, dict)) else [self.metrics]
            )
            kwargs["metrics"] = make_keras_objects(
                "metrics", metrics, self._routed("metrics"), keras.metrics
            )
        kwargs.setdefault("run_eagerly", self.run_eagerly)
        return kwargs

    def _model_fn_compile_kwargs(self):
        """``compile_kwargs`` for a model function, as scikeras gives them.

        With ``loss=None`` the loss is ``None``: the function picks its own (scikeras's
        contract); keraskit's default loss applies only when keraskit compiles the model.
        """
        kwargs = self._compile_kwargs()
        if self.loss is None:
            kwargs["loss"] = None
        return kwargs

    def _check_compiled_loss(self, model):
        """A model function compiled its own model: a ``loss`` set here must be the same.

        As in scikeras: a ``loss`` left at the class's default defers to the model's; any
        other must name the loss the model was compiled with.
        """
        default = inspect.signature(type(self).__init__).parameters.get("loss")
        default = None if default is None else default.default
        if self.loss is None or self.loss is default or isinstance(self.loss, list | dict):
            return  # (a loss per output: the function compiled it from compile_kwargs)
        if isinstance(self.loss, str) and self.loss == default:
            return
        if _loss_name(self.loss) != _loss_name(model.loss):
            raise ValueError(
                f"loss={self.loss!r} but model compiled with {model.loss!r}. Data may not "
                "match loss function! Set loss=None (or the model's loss), or compile the "
                "model with it."
            )


def _snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _loss_name(loss):
    """A comparable name of a loss given as a name, class, instance or function."""
    from ..._tensorflow import keras  # the model is built: Keras is imported

    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except (ValueError, TypeError):  # not a name Keras knows: compare as given
            return loss
    if isinstance(loss, type):
        return _snake(loss.__name__)
    if hasattr(loss, "get_config"):  # an instance of a loss class
        return _snake(type(loss).__name__)
    return getattr(loss, "__name__", repr(loss))


def _check_some_loss(loss):
    """A list or dict of losses must name at least one (Keras fails later, obscurely)."""
    items = loss.values() if isinstance(loss, dict) else loss
    if isinstance(loss, list | tuple | dict) and all(item is None for item in items):
        raise ValueError(
            f"loss={loss!r} names no loss for any output: provide a loss (a name, class or "
            "instance) for at least one output, or loss=None to let the model function "
            "choose one."
        )
