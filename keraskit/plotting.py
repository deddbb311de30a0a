"""Learning curves of fitted keraskit estimators (needs matplotlib: ``keraskit[plot]``)."""

from __future__ import annotations


def plot_history(estimator, ax=None, title=None):
    """Draw the learning curves in ``estimator.history_``.

    Training loss and, whenever there was validation data (early stopping or ``X_val``),
    validation loss share the left axis; the validation score (accuracy, R^2 or negative
    reconstruction error) is on a right axis.

    Parameters
    ----------
    estimator : fitted keraskit estimator, or a Pipeline ending in one
        Anything with a ``history_`` DataFrame (the last step of a Pipeline is used).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure is made when ``None``.
    title : str, default=None
        Axes title; the estimator's class name when ``None``.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes with the loss curves.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plot_history needs matplotlib: pip install keraskit[plot]") from exc
    if hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    history = getattr(estimator, "history_", None)
    if history is None:
        raise ValueError(
            f"{type(estimator).__name__} has no history_: fit it first (keraskit estimators "
            "record one row per epoch)."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    epochs = history.index
    ax.plot(epochs, history["loss"], label="training loss", color="C0")
    if "val_loss" in history:
        ax.plot(epochs, history["val_loss"], label="validation loss", color="C1")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    handles, labels = ax.get_legend_handles_labels()
    if "val_score" in history:
        right = ax.twinx()
        right.plot(
            epochs, history["val_score"], label="validation score", color="C2", linestyle="--"
        )
        right.set_ylabel("validation score")
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, loc="best")
    ax.set_title(title or type(estimator).__name__)
    return ax
