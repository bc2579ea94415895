"""Splits by seed, and transforms fitted on the training split only."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qdm_qiskit.data import MinMaxScaler, PCALatent, jet_images, make_splits
from qdm_qiskit.errors import ConfigError, DataError
from qdm_qiskit.stats import roc_auc


def test_splits_are_disjoint_complete_stratified_and_seeded(sample):
    splits = make_splits(sample.y, seed=3)
    parts = [splits.train, splits.validation, splits.test]
    joined = np.concatenate(parts)
    assert np.array_equal(np.sort(joined), np.arange(sample.n_jets))
    for part, fraction in zip(parts, (0.8, 0.1, 0.1), strict=True):
        assert abs(part.size - fraction * sample.n_jets) <= 2
        assert abs(sample.y[part].mean() - sample.y.mean()) < 0.01
    again = make_splits(sample.y, seed=3)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(parts, [again.train, again.validation, again.test], strict=True)
    )
    other = make_splits(sample.y, seed=4)
    assert not np.array_equal(other.test, splits.test)
    assert splits.to_dict()["test"] == splits.test.tolist()


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (0.5, 0.5)])
def test_bad_fractions(fractions):
    with pytest.raises(ConfigError):
        make_splits(np.zeros(10), seed=0, fractions=fractions)


def test_minmax_is_fitted_on_train_only(sample_observables, sample):
    splits = make_splits(sample.y, seed=0)
    features = sample_observables[["mass", "multiplicity", "ptd"]].to_numpy()
    scaler = MinMaxScaler.fit(features[splits.train])
    train = scaler.transform(features[splits.train])
    assert train.min() == 0.0 and train.max() == 1.0
    # The statistics are the training split's, not the whole sample's.
    np.testing.assert_array_equal(scaler.minimum, features[splits.train].min(axis=0))
    np.testing.assert_array_equal(scaler.scale, np.ptp(features[splits.train], axis=0))
    held_out = scaler.transform(features)
    np.testing.assert_allclose(scaler.inverse_transform(held_out), features, rtol=1e-12)
    rebuilt = MinMaxScaler.from_dict(scaler.to_dict())
    np.testing.assert_array_equal(rebuilt.transform(features), held_out)


def test_minmax_constant_feature_and_bad_input():
    scaler = MinMaxScaler.fit(np.array([[1.0, 5.0], [2.0, 5.0]]))
    np.testing.assert_array_equal(scaler.transform(np.array([[1.5, 5.0]])), [[0.5, 0.0]])
    with pytest.raises(DataError):
        MinMaxScaler.fit(np.array([[np.nan, 1.0]]))
    with pytest.raises(DataError, match="fitted on 2 features, got 1"):
        scaler.transform(np.ones((4, 1)))
    with pytest.raises(ConfigError, match="lacks scale"):
        MinMaxScaler.from_dict({"kind": "minmax", "minimum": [0.0, 1.0]})
    with pytest.raises(ConfigError):
        MinMaxScaler.from_dict({"kind": "minmax", "minimum": [0.0, 1.0], "scale": [1.0]})


@pytest.mark.parametrize(("labels", "seed"), [(np.array([]), 0), (np.zeros((2, 2)), 0),
                                              (np.zeros(5), -1), (np.zeros(5), 1.5)])  # fmt: skip
def test_bad_split_inputs(labels, seed):
    with pytest.raises(ConfigError):
        make_splits(labels, seed=seed)


@pytest.mark.parametrize("n_qubits", [1, 2, 3, 4])
def test_pca_latent_matches_covariance_eigendecomposition(sample, n_qubits):
    images = jet_images(sample.X, npix=8).reshape(sample.n_jets, -1)
    splits = make_splits(sample.y, seed=0)
    latent = PCALatent.fit(images[splits.train], n_qubits=n_qubits)
    assert latent.dim == 2**n_qubits
    np.testing.assert_allclose(
        latent.components @ latent.components.T, np.eye(latent.dim), atol=1e-10
    )
    cov = np.cov(images[splits.train], rowvar=False)
    eigvals = np.sort(np.linalg.eigvalsh(cov))[::-1]
    np.testing.assert_allclose(
        latent.explained_variance_ratio, eigvals[: latent.dim] / eigvals.sum(), rtol=1e-8
    )
    z = latent.transform(images[splits.train])
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-12)
    rebuilt = PCALatent.from_dict(latent.to_dict())
    np.testing.assert_array_equal(rebuilt.transform(images[:5]), latent.transform(images[:5]))


def test_pca_reconstruction_improves_with_qubits(sample):
    images = jet_images(sample.X, npix=8).reshape(sample.n_jets, -1)
    splits = make_splits(sample.y, seed=0)
    test = images[splits.test]
    errors = []
    for n_qubits in (1, 2, 3, 4, 5):
        latent = PCALatent.fit(images[splits.train], n_qubits=n_qubits)
        errors.append(np.mean((latent.inverse_transform(latent.transform(test)) - test) ** 2))
    assert all(a > b for a, b in itertools.pairwise(errors))


def test_pca_sign_convention_makes_components_unique():
    """Row order and a global sign flip leave the fitted components unchanged."""
    x = np.random.default_rng(0).normal(size=(50, 10)) * np.arange(1, 11)
    reference = PCALatent.fit(x, n_qubits=2).components
    permuted = PCALatent.fit(x[np.random.default_rng(1).permutation(50)], n_qubits=2)
    negated = PCALatent.fit(-x, n_qubits=2)
    np.testing.assert_allclose(permuted.components, reference, atol=1e-12)
    np.testing.assert_allclose(negated.components, reference, atol=1e-12)
    assert (reference[np.arange(4), np.abs(reference).argmax(axis=1)] > 0).all()


def test_pca_is_deterministic_and_validates():
    x = np.random.default_rng(0).normal(size=(50, 10))
    with pytest.raises(ConfigError):
        PCALatent.fit(x, n_qubits=4)  # 16 components from 10 features
    with pytest.raises(ConfigError, match="more than 8 training samples"):
        PCALatent.fit(x[:8], n_qubits=3)  # centring leaves rank 7 < 8
    fitted = PCALatent.fit(x, n_qubits=2)
    with pytest.raises(DataError, match="fitted on 10 features, got 1"):
        fitted.transform(np.ones((3, 1)))
    with pytest.raises(DataError, match="fitted on 4 features"):
        fitted.inverse_transform(np.ones((3, 5)))
    stored = fitted.to_dict()
    with pytest.raises(ConfigError, match="lacks components"):
        PCALatent.from_dict({k: v for k, v in stored.items() if k != "components"})
    with pytest.raises(ConfigError, match="needs components of shape"):
        PCALatent.from_dict({**stored, "n_qubits": 5})
    with pytest.raises(ConfigError):
        PCALatent.fit(x, n_qubits=0)
    with pytest.raises(ConfigError):
        PCALatent.from_dict({"kind": "minmax"})


def test_roc_auc_matches_pairwise_definition():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, size=60).astype(float)  # many ties
    positive = rng.random(60) < 0.4
    pos, neg = scores[positive], scores[~positive]
    pairwise = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert roc_auc(scores, positive) == pytest.approx(pairwise, abs=1e-12)
