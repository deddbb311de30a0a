"""AutoencoderTransformer: reconstruction against PCA, pipelines, anomalies, the code."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from keraskit import AutoencoderTransformer, ConvAutoencoderTransformer

STRONG = dict(
    hidden_layer_sizes=(128,),
    alpha=0.01,
    tol=1e-5,
    learning_rate_init=0.003,
    max_iter=400,
    random_state=0,
)


def _fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, random_state=0)


@pytest.mark.parametrize("k", [2, 4, 8, 16])
def test_reconstructs_better_than_pca_with_as_many_components(digits, k):
    X_tr, X_te, _, _ = digits
    ae = _fit(AutoencoderTransformer(encoding_dim=k, **STRONG), X_tr)
    pca = PCA(k).fit(X_tr)
    ae_error = -ae.score(X_te)
    pca_error = float(((pca.inverse_transform(pca.transform(X_te)) - X_te) ** 2).mean())
    print(f"encoding_dim={k}: autoencoder MSE {ae_error:.5f}, PCA MSE {pca_error:.5f}")
    assert ae_error < 0.9 * pca_error


@pytest.mark.parametrize("k", [2, 8, 16])
@pytest.mark.parametrize("output_activation", ["linear", "sigmoid"])
def test_default_autoencoder_beats_pca(digits, k, output_activation):
    # only encoding_dim (and the output for data in [0, 1]) set: the defaults must win
    X_tr, X_te, _, _ = digits
    ae = AutoencoderTransformer(encoding_dim=k, output_activation=output_activation, random_state=0)
    ae = _fit(ae, X_tr)
    pca = PCA(k).fit(X_tr)
    pca_error = float(((pca.inverse_transform(pca.transform(X_te)) - X_te) ** 2).mean())
    assert -ae.score(X_te) < 0.85 * pca_error


def test_a_sigmoid_output_is_trained_on_what_it_outputs(digits):
    # the loss is the squared error of sigmoid(logits), the reconstruction returned; it
    # was once computed on the logits, which left the sigmoid output's error near 0.17
    X_tr, _, _, _ = digits
    ae = _fit(
        AutoencoderTransformer(encoding_dim=8, output_activation="sigmoid", random_state=0),
        X_tr,
    )
    reconstruction = ae.inverse_transform(ae.transform(X_tr))
    mse = float(((reconstruction - X_tr) ** 2).mean())
    # sklearn's reported squared loss is half the mean squared error (plus a small penalty)
    assert ae.loss_ == pytest.approx(mse / 2, rel=0.05, abs=2e-3)
    assert mse < 0.02


def test_grid_search_over_encoding_dim_in_a_pipeline(digits):
    X_tr, X_te, y_tr, y_te = digits
    pipe = make_pipeline(
        StandardScaler(),
        AutoencoderTransformer(max_iter=20, learning_rate_init=0.01, random_state=0),
        LogisticRegression(max_iter=500),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, {"autoencodertransformer__encoding_dim": [4, 16]}, cv=2)
        search.fit(X_tr[:600], y_tr[:600])
    assert search.best_params_["autoencodertransformer__encoding_dim"] == 16
    assert search.score(X_te, y_te) > 0.8


def test_score_samples_separates_injected_anomalies(digits):
    X_tr, X_te, _, _ = digits
    ae = _fit(AutoencoderTransformer(encoding_dim=8, **STRONG), X_tr)
    rng = np.random.RandomState(0)
    anomalies = rng.rand(50, 64).astype(np.float32)  # noise images, unlike any digit
    scores = ae.score_samples(np.vstack([X_te, anomalies]))
    labels = np.r_[np.zeros(len(X_te)), np.ones(len(anomalies))]
    auc = roc_auc_score(labels, -scores)
    print(f"anomaly ROC AUC: {auc:.4f}")
    assert auc > 0.95


def test_code_decoding_pandas_output_and_submodels(digits):
    X_tr, X_te, _, _ = digits
    ae = _fit(AutoencoderTransformer(encoding_dim=3, max_iter=5, random_state=0), X_tr)
    Z = ae.transform(X_te)
    assert Z.shape == (len(X_te), 3)
    assert ae.inverse_transform(Z).shape == X_te.shape
    with warnings.catch_warnings():  # a plain array is what the submodels expect: no warning
        warnings.simplefilter("error")
        encoded, decoded = ae.encoder_(X_te, training=False), ae.decoder_(Z, training=False)
    np.testing.assert_allclose(encoded, Z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(decoded, ae.inverse_transform(Z), rtol=1e-5, atol=1e-6)
    frame = ae.set_output(transform="pandas").transform(X_te)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [f"autoencodertransformer{i}" for i in range(3)]
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X_te).to_numpy(), frame.to_numpy())
    with pytest.raises(ValueError, match="encoding_dim=3"):
        ae.inverse_transform(np.zeros((2, 5)))


def test_denoising_and_sparse_code(digits):
    X_tr, X_te, _, _ = digits
    kw = dict(encoding_dim=8, max_iter=10, learning_rate_init=0.003, random_state=0)
    plain = _fit(AutoencoderTransformer(**kw), X_tr)
    noisy = _fit(AutoencoderTransformer(noise_std=0.3, **kw), X_tr)
    assert noisy.loss_curve_[-1] > plain.loss_curve_[-1]  # noise made training harder
    np.testing.assert_array_equal(noisy.transform(X_te), noisy.transform(X_te))
    sparse = _fit(AutoencoderTransformer(activity_l1=0.1, **kw), X_tr)
    assert np.abs(sparse.transform(X_te)).mean() < 0.5 * np.abs(plain.transform(X_te)).mean()


def test_sigmoid_output_stays_in_unit_interval(digits):
    X_tr, X_te, _, _ = digits
    ae = _fit(AutoencoderTransformer(output_activation="sigmoid", max_iter=5, random_state=0), X_tr)
    rec = ae.inverse_transform(ae.transform(X_te))
    assert rec.min() >= 0.0 and rec.max() <= 1.0


@pytest.mark.parametrize("upsampling", ["nearest", "transpose"])
def test_conv_autoencoder_reconstructs_digit_images(upsampling):
    images = (load_digits().images / 16.0).astype(np.float32)  # (n, 8, 8)
    ae = _fit(
        ConvAutoencoderTransformer(
            encoding_dim=16,
            upsampling=upsampling,
            max_iter=30,
            learning_rate_init=0.003,
            random_state=0,
        ),
        images,
    )
    Z = ae.transform(images)
    rec = ae.inverse_transform(Z)
    assert Z.shape == (len(images), 16) and rec.shape == images.shape
    mse = float(((rec - images) ** 2).mean())
    baseline = float(((images - images.mean(axis=0)) ** 2).mean())  # predicting the mean image
    print(f"conv autoencoder ({upsampling}): MSE {mse:.5f}, mean-image baseline {baseline:.5f}")
    assert mse < 0.5 * baseline
    assert -ae.score(images) == pytest.approx(mse, rel=1e-5)


@pytest.mark.parametrize("shape", [(30, 7, 9), (30, 11, 5, 3), (30, 13, 2), (30, 3)])
@pytest.mark.parametrize("upsampling", ["nearest", "transpose"])
def test_conv_autoencoder_output_shape_equals_input_shape_for_odd_sizes(shape, upsampling):
    X = np.random.RandomState(0).rand(*shape).astype(np.float32)
    ae = _fit(
        ConvAutoencoderTransformer(
            encoding_dim=4, upsampling=upsampling, max_iter=2, random_state=0
        ),
        X,
    )
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape
    assert ae.score_samples(X).shape == (shape[0],)


def test_conv_autoencoder_pipeline_rows_and_pickle():
    X, _ = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    ae = _fit(
        ConvAutoencoderTransformer(
            encoding_dim=6, input_shape=(8, 8, 1), max_iter=3, random_state=0
        ),
        X,
    )
    assert ae.input_shape_ == (8, 8, 1)
    assert ae.inverse_transform(ae.transform(X[:4])).shape == (4, 64)
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X), ae.transform(X))
    assert ae.encoder_.output_shape == (None, 6)
    assert ae.decoder_.output_shape == (None, 8, 8, 1)
