"""Building the user's model for a fit.

A model function (given ``meta``, ``compile_kwargs`` and ``params`` when it asks), a Keras
model (cloned with its weights) or a subclass's ``_keras_build_fn``, compiled from the
wrapper's parameters unless it compiled itself (scikeras's rules).
"""

from __future__ import annotations

import inspect
import warnings

from ._models import known_outputs, register_keraskit_objects
from ._routing import accepts, user_params


class BuildMixin:
    """Builds and compiles the model of a fit (a mixin of ``BaseWrapper``)."""

    def _meta(self):
        names = (
            "n_features_in_",
            "X_shape_",
            "X_dtype_",
            "y_dtype_",
            "y_ndim_",
            "target_type_",
            "classes_",
            "n_classes_",
            "n_outputs_",
            "n_outputs_expected_",
        )
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def _build(self):
        """A new Keras model for this fit, compiled (under the distribution strategy)."""
        with self._strategy_scope():
            return self._build_in_scope()

    def _build_in_scope(self):
        from ..._tensorflow import keras  # imported on the first fit, not with keraskit

        register_keraskit_objects()
        spec = self._model_spec()
        if isinstance(spec, keras.Model):
            model = keras.models.clone_model(spec)
            model.set_weights(spec.get_weights())  # start from the instance's weights
            if spec.compiled:  # the same settings, a fresh optimizer state
                model.compile_from_config(spec.get_compile_config())
        elif callable(spec):
            routed_params = self._routed("model")
            params = {**user_params(self._kwargs), **routed_params}
            if not accepts(spec, "**"):
                # bare keyword arguments go where they are taken; model__ ones must be
                wanted = inspect.signature(spec).parameters
                refused = [k for k in routed_params if k not in wanted]
                if refused:
                    raise ValueError(
                        f"model__{refused[0]} is routed to the model function, which takes "
                        f"no argument {refused[0]!r} (it takes {list(wanted)})."
                    )
                params = {k: v for k, v in params.items() if k in wanted}
            if accepts(spec, "meta"):
                params["meta"] = self._meta()
            if accepts(spec, "compile_kwargs"):
                params["compile_kwargs"] = self._model_fn_compile_kwargs()
            if accepts(spec, "params"):
                params["params"] = self.get_params(deep=False)
            model = spec(**params)
            if not isinstance(model, keras.Model):
                raise TypeError(
                    f"The model function must return a keras.Model, got {type(model).__name__}."
                )
        else:
            raise TypeError(
                "model must be a function returning a Keras model or a keras.Model, got "
                f"{type(spec).__name__}."
            )
        if model.compiled:  # a compiled model is used as it comes, as in scikeras
            self._check_compiled_loss(model)
        else:
            outputs = known_outputs(model)
            single = len(outputs) == 1
            width = outputs[0].shape[-1] if single else None
            out_dtype = str(outputs[0].dtype) if single else None
            model.compile(**self._compile_kwargs(width, out_dtype))
        return model

    def _model_spec(self):
        """What builds the model: ``model``, scikeras's ``build_fn``, or ``_keras_build_fn``.

        As in scikeras: ``build_fn`` (the old name of ``model``) still works, with its
        warning; a subclass may define ``_keras_build_fn`` instead of taking ``model``.
        """
        spec, build_fn = self.model, self._kwargs.get("build_fn")
        if spec is None and build_fn is not None:
            warnings.warn(
                "``build_fn`` will be renamed to ``model`` in a future release, at which "
                "point use of ``build_fn`` will raise an Error instead.",
                UserWarning,
                stacklevel=6,
            )
            spec = build_fn
        own = getattr(self, "_keras_build_fn", None)
        if spec is None and own is not None:
            return own
        if spec is None:
            raise ValueError(
                "model=None: pass a function that returns a Keras model, or a Keras model "
                "(or define _keras_build_fn in a subclass)."
            )
        if own is not None:
            raise ValueError(
                "This class cannot implement ``_keras_build_fn`` if using the `model` parameter"
            )
        return spec

    # ----------------------------------------------------------------- fitting
