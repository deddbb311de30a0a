"""``python -m keraskit``: a short tour on data that ship with scikit-learn.

Trains keraskit's MLPs beside scikit-learn's on the same splits, a ``TabularRegressor`` on a
DataFrame beside gradient boosting and an MLP pipeline, runs one grid search through
keraskit's fused ``GridSearchCV`` and through scikit-learn's, and prints a comparison.
"""

from __future__ import annotations

import os
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from sklearn import ensemble  # noqa: E402
from sklearn import neural_network as sk  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import keraskit  # noqa: E402
from keraskit.pipelines import make_tabular_pipeline  # noqa: E402


def _start_tensorflow():
    """Import and start TensorFlow (what the first fit in a process would pay first)."""
    start = time.perf_counter()
    # timed here on purpose: the import is what a process pays once, before any fit
    from keraskit._tensorflow import tf

    tf.zeros(()).numpy()  # the runtime starts with the first operation
    return time.perf_counter() - start


#: Epochs of every network in a ``--quick`` tour (it checks the tour, not the scores).
QUICK_EPOCHS = 3


def _timed_fit(est, X, y, quick=False):
    if quick:  # every max_iter, also of a search's or a pipeline's network
        names = [k for k in est.get_params() if k.split("__")[-1] in ("max_iter", "max_epochs")]
        est.set_params(**dict.fromkeys(names, QUICK_EPOCHS))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return time.perf_counter() - start


def _rows(fitted, quick):
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, random_state=0, stratify=y)
    classifiers = [
        ("sklearn MLPClassifier", sk.MLPClassifier(random_state=0)),
        ("keraskit MLPClassifier", keraskit.MLPClassifier(random_state=0)),
        (
            "keraskit MLPClassifier, dropout + early stopping",
            keraskit.MLPClassifier(
                (256,),
                dropout=0.3,
                early_stopping=True,
                learning_rate_init=0.003,
                random_state=0,
            ),
        ),
    ]
    for name, est in classifiers:
        seconds = _timed_fit(est, X_tr, y_tr, quick)
        if name.startswith("keraskit"):
            fitted[name] = est
        yield "digits (accuracy)", name, est.score(X_te, y_te), seconds, est.n_iter_
    images_tr, images_te = (X.reshape(-1, 8, 8).astype("float32") for X in (X_tr, X_te))
    cnn = keraskit.CNNClassifier(random_state=0)
    seconds = _timed_fit(cnn, images_tr, y_tr, quick)
    fitted["keraskit CNNClassifier on 8x8 images"] = cnn
    yield (
        "digits (accuracy)",
        "keraskit CNNClassifier on 8x8 images",
        cnn.score(images_te, y_te),
        seconds,
        cnn.n_iter_,
    )

    X, y = load_diabetes(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y / 100.0, random_state=0)
    common = dict(hidden_layer_sizes=(32,), early_stopping=True, learning_rate_init=0.01)
    regressors = [
        ("sklearn MLPRegressor, early stopping", sk.MLPRegressor(random_state=0, **common)),
        ("keraskit MLPRegressor, early stopping", keraskit.MLPRegressor(random_state=0, **common)),
        (
            "keraskit MLPRegressor, early stopping + huber",
            keraskit.MLPRegressor(loss="huber", random_state=0, **common),
        ),
    ]
    for name, est in regressors:
        pipe = make_pipeline(StandardScaler(), est)
        seconds = _timed_fit(pipe, X_tr, y_tr, quick)
        yield "diabetes (R^2)", name, pipe.score(X_te, y_te), seconds, est.n_iter_


def _diabetes_frame():
    """scikit-learn's diabetes data as a DataFrame in its original units, sex a category."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype("category")
    return frame.drop(columns="target"), frame["target"]


def _tabular_rows(fitted, quick):
    """A DataFrame as it is: gradient boosting, an MLP pipeline and a TabularRegressor."""
    X, y = _diabetes_frame()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    models = [
        (
            "sklearn HistGradientBoostingRegressor",
            ensemble.HistGradientBoostingRegressor(
                categorical_features="from_dtype", random_state=0
            ),
        ),
        (
            "sklearn MLPRegressor, make_tabular_pipeline",
            make_tabular_pipeline(sk.MLPRegressor(random_state=0)),
        ),
        ("keraskit TabularRegressor", keraskit.TabularRegressor(random_state=0)),
    ]
    for name, est in models:
        seconds = _timed_fit(est, X_tr, y_tr, quick)
        if name.startswith("keraskit"):
            fitted[name] = est
        n_iter = est[-1].n_iter_ if hasattr(est, "steps") else est.n_iter_
        yield "diabetes frame (R^2)", name, est.score(X_te, y_te), seconds, n_iter


def _reconstruction_rows(fitted, quick):
    X, _ = load_digits(return_X_y=True)
    X_tr, X_te = train_test_split((X / 16.0).astype("float32"), random_state=0)
    for k in (2, 8):
        pca = PCA(k).fit(X_tr)
        pca_mse = float(((pca.inverse_transform(pca.transform(X_te)) - X_te) ** 2).mean())
        ae = keraskit.AutoencoderTransformer(encoding_dim=k, random_state=0)  # defaults
        seconds = _timed_fit(ae, X_tr, None, quick)
        fitted[f"keraskit AutoencoderTransformer, encoding_dim={k}"] = ae
        yield k, pca_mse, -ae.score(X_te), seconds


def _searches(quick):
    """Run one small grid search twice: scikit-learn's on its MLP, keraskit's fused on its own.

    Parameters
    ----------
    quick : bool
        Train every network for ``QUICK_EPOCHS`` epochs.

    Yields
    ------
    name : str
        Which search over which MLP.
    search : GridSearchCV
        The fitted search: scikit-learn's, or keraskit's fused one.
    seconds : float
        Wall time of the whole search, the refit of the best candidate included.
    """
    X, y = load_digits(return_X_y=True)
    # float64 data train float64 networks: each fused member then reproduces its sklearn fit
    X_tr, _, y_tr, _ = train_test_split(X / 16.0, y, random_state=0, stratify=y)
    grid = {"hidden_layer_sizes": [(32,), (64,)], "alpha": [1e-4, 1e-2]}
    mlp = dict(max_iter=20, random_state=0)
    searches = [
        ("sklearn GridSearchCV, sklearn MLP", GridSearchCV(sk.MLPClassifier(**mlp), grid, cv=3)),
        (
            "keraskit GridSearchCV, keraskit MLP",
            keraskit.model_selection.GridSearchCV(keraskit.MLPClassifier(**mlp), grid, cv=3),
        ),
    ]
    for name, search in searches:
        yield name, search, _timed_fit(search, X_tr, y_tr, quick)


def _print_searches(quick):
    """Print the searches of :func:`_searches` and whether their best scores agree."""
    header = f"{'digits grid search':<37} {'best parameters':<38} {'3-fold':>7} {'wall s':>7}"
    print(f"\n{header} {'fused fits':>10}")
    best = {}
    for name, search, seconds in _searches(quick):
        params = ", ".join(f"{k}={v}" for k, v in sorted(search.best_params_.items()))
        n_fits = len(search.cv_results_["params"]) * search.n_splits_
        fused = f"{search.n_fused_fits_} of {n_fits}" if hasattr(search, "n_fused_fits_") else "-"
        print(f"{name:<37} {params:<38} {search.best_score_:>7.4f} {seconds:>7.2f} {fused:>10}")
        best[name.split()[0]] = (search.best_score_, search.best_params_)
    gap = abs(best["keraskit"][0] - best["sklearn"][0])
    same_params = best["keraskit"][1] == best["sklearn"][1]
    print(
        f"keraskit's best score {'equals' if gap < 1e-9 else 'DIFFERS from'} scikit-learn's "
        f"(difference {gap:.1e}), with {'the same' if same_params else 'DIFFERENT'} "
        "best parameters.\nFused fits train together, one stacked network per shape; "
        "each search refits its best candidate alone."
    )


def _write_plots(fitted, folder):
    """Learning curves of every fitted keraskit estimator, one PNG each."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib is not installed: pip install keraskit[plot] for learning curves)")
        return
    os.makedirs(folder, exist_ok=True)
    print(f"\nLearning curves written to {os.path.abspath(folder)}/:")
    for name, est in fitted.items():
        ax = keraskit.plot_history(est, title=name)
        slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
        path = os.path.join(folder, f"{slug}.png")
        ax.figure.savefig(path, dpi=90, bbox_inches="tight")
        plt.close(ax.figure)
        print(f"  {os.path.basename(path)}")


def main(folder="keraskit_demo_output", quick=False):
    """Run the tour, print the comparison tables and write learning-curve plots.

    Parameters
    ----------
    folder : str, default="keraskit_demo_output"
        Where the learning-curve PNGs go.
    quick : bool, default=False
        Train every network for ``QUICK_EPOCHS`` epochs only (``python -m keraskit --quick``:
        a check that the tour runs, with scores that mean nothing).
    """
    fitted = {}
    print(f"keraskit {keraskit.__version__}: scikit-learn estimators made of Keras networks\n")
    print(f"TensorFlow start-up (once per process, before any fit): {_start_tensorflow():.1f} s\n")
    header = f"{'data':<20} {'estimator':<50} {'score':>7} {'fit s':>7} {'epochs':>7}"
    print(header)
    print("-" * len(header))
    for data, name, score, seconds, epochs in [
        *_rows(fitted, quick),
        *_tabular_rows(fitted, quick),
    ]:
        print(f"{data:<20} {name:<50} {score:>7.3f} {seconds:>7.2f} {epochs:>7d}")
    print(f"\n{'digits reconstruction':<24} {'PCA MSE':>9} {'autoencoder MSE':>16} {'fit s':>7}")
    for k, pca_mse, ae_mse, seconds in _reconstruction_rows(fitted, quick):
        print(f"{'encoding_dim=' + str(k):<24} {pca_mse:>9.4f} {ae_mse:>16.4f} {seconds:>7.2f}")
    _print_searches(quick)
    print(
        "\nEach keraskit time is a first fit in this process: it includes tracing the network's "
        "graph;\nlater fits of that shape reuse it (see benchmarks/)."
    )
    _write_plots(fitted, folder)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m keraskit", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_EPOCHS} epochs per network: checks the tour"
    )
    main(quick=parser.parse_args().quick)
