"""What a fit prints: scikit-learn's verbose lines, or a live progress bar (rich)."""

from __future__ import annotations


class ProgressBar:
    """A live bar over the epochs with the latest figures (``verbose=2``).

    Parameters
    ----------
    total : int
        Number of steps (epochs).
    name : str
        Label of the bar.
    """

    def __init__(self, total, name):
        # rich is imported only when a bar is asked for
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn(name),
            MofNCompleteColumn(),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[figures]}"),
        )
        self.task = self.progress.add_task(name, total=total, figures="")
        self.progress.start()

    def update(self, logs):
        """Advance one epoch and show its figures."""
        figures = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if k != "learning_rate")
        self.progress.update(self.task, advance=1, figures=figures)

    def close(self):
        """Stop the live display, leaving the final line."""
        self.progress.stop()


class Reporter:
    """The output of one fit for a ``verbose`` level.

    Parameters
    ----------
    verbose : int
        0: nothing. 1: scikit-learn's lines on stdout. 2 and more: a progress bar.
    total : int or None
        Epochs the bar counts to; ``None`` never draws a bar.
    """

    def __init__(self, verbose, total=None):
        self.lines = verbose == 1
        self.bar = ProgressBar(total, "epoch") if verbose >= 2 and total is not None else None

    def say(self, line):
        """Print ``line`` at ``verbose=1``."""
        if self.lines:
            print(line)

    def iteration(self, n_iter, loss):
        """sklearn's ``Iteration N, loss = ...`` line."""
        self.say(f"Iteration {n_iter}, loss = {loss:.8f}")

    def validation(self, score):
        """sklearn's ``Validation score: ...`` line."""
        self.say(f"Validation score: {score:f}")

    def epoch_end(self, logs):
        """Advance the bar with the epoch's figures."""
        if self.bar is not None:
            self.bar.update(logs)

    def close(self):
        """Leave the bar's final line (nothing for the verbose lines)."""
        if self.bar is not None:
            self.bar.close()
