"""Parameters of the wrappers.

The constructor's (a subclass passing ``**kwargs`` on keeps its parents'), the routed ones
(``optimizer__learning_rate``) and the model function's own, all in ``get_params`` and
readable as attributes.
"""

from __future__ import annotations

import inspect

from ._routing import route, routed


class ParamsMixin:
    """Parameters and their routing (a mixin of ``BaseWrapper``)."""

    @classmethod
    def _get_param_names(cls):
        """The constructor's parameters, and its parents' when it passes ``**kwargs`` on.

        A subclass such as ``MyClassifier(model=None, split=True, **kwargs)`` that hands
        the rest to ``KerasClassifier.__init__`` keeps ``random_state``, ``epochs``...
        as parameters (scikeras's rule), so ``clone`` and ``set_params`` see them.
        """
        names = set()
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None or not issubclass(klass, ParamsMixin):
                continue  # mixins (RegressorMixin...) have no parameters of their own
            params = list(inspect.signature(init).parameters.values())[1:]  # not self
            names |= {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
            if not any(p.kind == p.VAR_KEYWORD for p in params):
                break
        return sorted(names)

    def get_params(self, deep=True):
        """Parameters of the constructor plus every routed or model keyword argument.

        Parameters
        ----------
        deep : bool, default=True
            Ignored (no sub-estimators); kept for scikit-learn's API.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        params.update(self._kwargs)
        return params

    def __getattr__(self, name):
        # routed parameters read as attributes, as in scikeras (est.optimizer__learning_rate)
        kwargs = self.__dict__.get("_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def set_params(self, **params):
        """Set parameters, including routed ones such as ``optimizer__learning_rate``.

        Parameters
        ----------
        **params : dict
            Parameter names and values. Names with a routing prefix (``model__``,
            ``fit__``, ``predict__``, ``compile__``, ``optimizer__``, ``loss__``,
            ``metrics__``, ``callbacks__``) and the model function's own arguments are
            accepted as they are.

        Returns
        -------
        self : object
            The estimator.
        """
        route(self, params, set(super().get_params(deep=False)))
        return self

    def _routed(self, prefix):
        """``prefix__name`` parameters as ``{name: value}`` (they all live in ``_kwargs``)."""
        return routed(self._kwargs, prefix)
