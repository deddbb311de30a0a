"""scikit-learn's callbacks (``sklearn.callback``, scikit-learn >= 1.9) in keraskit's fits.

A fit is a task with one subtask per epoch (per L-BFGS iteration): ``ProgressBar`` fills
epoch by epoch, also nested under ``GridSearchCV`` and ``Pipeline``, which propagate their
callbacks to estimators that support them; ``ScoringMonitor`` scores the network as it
stands after each epoch (a cheap copy of the estimator with that epoch's weights); a
callback whose ``on_fit_task_end`` returns ``True`` stops training after that epoch.

The root task is opened before a fit's atomic section, so a failed fit keeps the context
that scikit-learn's ``_fit_context``/``with_callbacks`` need to tear the callbacks down
(a ``ProgressBar`` left running keeps the interpreter from exiting). Below scikit-learn
1.9 the mixin has no ``set_callbacks`` (meta-estimators then see no support) and
``with_callbacks`` changes nothing.

scikit-learn marks the API experimental; this module is the one place that knows it.
"""

from __future__ import annotations

from .._engine.records import EpochHooks

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - scikit-learn < 1.9

    class CallbackSupportMixin:
        """Stands in for scikit-learn's mixin where ``sklearn.callback`` does not exist."""

    def with_callbacks(method):
        """Stands in for scikit-learn's decorator: the method unchanged."""
        return method


def _listened_to(est):
    """Whether a fit of ``est`` has callbacks to tell (its own or a meta-estimator's)."""
    return hasattr(est, "_init_callback_context") and (
        bool(getattr(est, "_skl_callbacks", None)) or hasattr(est, "_parent_callback_ctx")
    )


class FitTasks(EpochHooks):
    """The callback tasks of one fit: the root ``fit`` task, one subtask per epoch.

    Parameters
    ----------
    est : estimator
        The estimator being fitted.
    X, y : array-like
        The data as the user gave it (``ScoringMonitor`` scores the fitted copies on it:
        feature names and labels intact).
    sample_weight : array-like or None
        Passed to the callbacks as metadata.
    max_subtasks : int
        Epochs at most (the progress bars' total).
    """

    listening = True

    def __init__(self, est, X, y, sample_weight, max_subtasks):
        self.est, self.X, self.y = est, X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.fitted_attributes = None
        self.root = est._init_callback_context(max_subtasks=max_subtasks)
        self.root.call_on_fit_task_begin(**self._about())
        self.epoch = None

    @classmethod
    def open(cls, est, X, y, sample_weight, max_subtasks):
        """The tasks of a fit of ``est``: ``FitTasks``, or silent hooks when none listen."""
        if not _listened_to(est):
            return SILENT
        return cls(est, X, y, sample_weight, max_subtasks)

    def _about(self):
        return {"estimator": self.est, "X": self.X, "y": self.y, "metadata": self.metadata}

    def begin_epoch(self):
        """Open the epoch's subtask."""
        self.epoch = self.root.subcontext(task_name="epoch")
        self.epoch.call_on_fit_task_begin(**self._about())

    def end_epoch(self, n_iter, weights):
        """Close the epoch's subtask; whether a callback asked to stop.

        ``fitted_attributes(n_iter, weights)``, set by the fit once it knows its network,
        gives the attributes that make a copy of the estimator the network of this epoch;
        it is called only if a callback asks for that copy.
        """
        attributes = self.fitted_attributes
        return bool(
            self.epoch.call_on_fit_task_end(
                **self._about(),
                reconstruction_attributes=(
                    None if attributes is None else lambda: attributes(n_iter, weights)
                ),
            )
        )

    def keras_callback(self):
        """A Keras callback that tells these tasks of ``Model.fit``'s epochs (the wrappers)."""
        from .._tensorflow import keras  # imported by a wrapper's fit, not with keraskit

        tasks = self

        class _Tasks(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                tasks.begin_epoch()

            def on_epoch_end(self, epoch, logs=None):
                if tasks.end_epoch(epoch + 1, None):
                    self.model.stop_training = True

        return _Tasks()

    def end(self):
        """Close the root task of a fit that succeeded (the estimator is fitted)."""
        self.root.call_on_fit_task_end(**self._about(), reconstruction_attributes={})


class _Silent(EpochHooks):
    """The hooks of a fit no callback listens to."""

    def end(self):
        """Nothing to close."""


SILENT = _Silent()
