"""What a fit prints: scikit-learn's verbose lines, or a live progress bar (rich)."""

from __future__ import annotations


class ProgressBar:
    """A live bar over the epochs with the latest figures (``progress_bar=True``).

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
    """The output of one fit.

    Parameters
    ----------
    verbose : int
        scikit-learn's meaning: any value other than 0 prints its lines on stdout.
    total : int or None, default=None
        Epochs a progress bar counts to.
    bar : bool, default=False
        Draw a live progress bar over ``total`` epochs (a switch of its own, which no
        ``verbose`` value reaches).
    """

    def __init__(self, verbose, total=None, bar=False):
        self.lines = bool(verbose)
        self.bar = ProgressBar(total, "epoch") if bar and total is not None else None

    def say(self, line):
        """Print ``line`` when ``verbose`` is on."""
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
