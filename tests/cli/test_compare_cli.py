"""``qdm compare`` end to end, on result directories written with :func:`write_sets`.

The directories hold real jets of the shipped sample (standing in for a good generator) and
uniform-noise images (a bad one), so the comparison's numbers can be checked against
:func:`~qdm_qiskit.results.evaluation.evaluate` run here, without the slow ``qdm run``.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qdm_qiskit.models.config import DataConfig
from qdm_qiskit.models.data import JetImageData, load_image_data
from qdm_qiskit.options import options_to_dict
from qdm_qiskit.results.evaluation import SampleSet, evaluate
from qdm_qiskit.results.sets import ARRAYS_FILE, SetRecord, write_sets
from qdm_qiskit.workflows.compare import real_jets
from tests.cli.test_models_cli import (
    CONFIG as TRAIN_CONFIG,
)
from tests.cli.test_models_cli import (
    PNG_MAGIC,
    assert_one_error_line,
    load_info,
    no_output,
    ok,
    only_dir,
    run,
)

CONFIG = DataConfig(npix=4, max_jets=1200)
REPRESENTATION = options_to_dict(CONFIG)
TIDY = ["set", "subset", "labels", "metric", "value", "uncertainty", "floor",
        "floor_uncertainty", "n", "n_reference", "n_invalid"]  # fmt: skip
FIGURES = ("observables.png", "mean_images.png", "samples.png", "loss.png")
N_HOLES = 15


@pytest.fixture(scope="module")
def data() -> JetImageData:
    return load_image_data(CONFIG)


def _uniform(n: int, seed: int) -> np.ndarray:
    images = np.random.default_rng(seed).random((n, 4, 4))
    return images / images.sum(axis=(1, 2), keepdims=True)


def _record(key: str, name: str, images: np.ndarray, **extra: object) -> SetRecord:
    family = "ddpm" if extra else "angle"
    history = None
    if not extra:
        history = pd.DataFrame({"epoch": [1.0, 2.0], "train_loss": [0.4, 0.2],
                                "validation_loss": [0.5, 0.3]})  # fmt: skip
    return SetRecord(key=key, name=name, family=family, images=images, quantum_parameters=4,
                     classical_parameters=8, train_seconds=1.0, sample_seconds=0.5,
                     history=history, extra=dict(extra))  # fmt: skip


def _holes(data: JetImageData) -> np.ndarray:
    images = data.part("validation").copy()
    images[:N_HOLES] = np.nan
    images[N_HOLES, 0, 0] = -0.5
    return images


def _write(directory: Path, records: list[SetRecord], representation: dict | None = None) -> Path:
    directory.mkdir(parents=True)
    write_sets(directory, records, representation or REPRESENTATION, seed=0)
    return directory


@pytest.fixture(scope="module")
def runs(data: JetImageData, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two result directories; both hold a set named "validation jets"."""
    root = tmp_path_factory.mktemp("runs")
    train = data.part("train")
    first = _write(root / "runA", [
        _record("val", "validation jets", data.part("validation")),
        _record("fake-ddpm", "fake, DDPM", train[:120], model="fake", sampler="ddpm"),
        _record("fake-ddim", "fake, DDIM", train[120:240], model="fake", sampler="ddim"),
        _record("noise", "fake untrained, DDPM", _uniform(120, 1), model="fake untrained",
                sampler="ddpm"),
    ])  # fmt: skip
    second = _write(root / "runB", [
        _record("val", "validation jets", data.part("validation")),
        _record("holes", "with holes", _holes(data)),
    ])  # fmt: skip
    return first, second


NAMES = ["validation jets [runA]", "fake, DDPM", "fake, DDIM", "fake untrained, DDPM",
         "validation jets [runB]", "with holes"]  # fmt: skip


def _metrics(directory: Path) -> pd.DataFrame:
    """metrics.csv with the empty label of the all-jets rows read back as an empty string."""
    metrics = pd.read_csv(directory / "metrics.csv")
    metrics["labels"] = metrics["labels"].fillna("")
    return metrics


def _compare(runs: tuple[Path, ...], results: Path, *options: str) -> Path:
    result = ok(run("compare", *runs, "--bootstrap", "5", *options, "--results-dir", results))
    directory = only_dir(results, "compare-")
    report = (directory / "report.md").read_text()
    assert report.strip() in result.stdout  # the report is printed too
    assert str(directory / "report.md") in result.stdout
    return directory


@pytest.fixture(scope="module")
def compared(runs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _compare(runs, tmp_path_factory.mktemp("compare") / "results", "--seed", "3")


def test_compare_writes_report_metrics_figures_and_info(
    compared: Path, runs: tuple[Path, Path]
) -> None:
    assert {"report.md", "metrics.csv", "summary.csv", "info.json", *FIGURES} <= {
        p.name for p in compared.iterdir()
    }
    for name in FIGURES:
        assert (compared / name).read_bytes()[:8] == PNG_MAGIC, name
    assert [p.name for p in compared.parent.iterdir()] == [compared.name]  # no partial left
    info = load_info(compared)
    assert info["kind"] == "compare"
    assert info["sources"] == [str(r.resolve()) for r in runs]
    assert info["seed"] == 3 and info["bootstrap"] == 5
    assert info["representation"] == REPRESENTATION
    assert {"qdm-qiskit", "numpy"} <= set(info["versions"])

    metrics = _metrics(compared)
    assert list(metrics.columns) == TIDY
    assert list(dict.fromkeys(metrics["set"])) == NAMES
    assert set(metrics["subset"]) == {"all", "quark", "gluon"}
    assert not metrics.duplicated(["set", "subset", "metric"]).any()
    summary = pd.read_csv(compared / "summary.csv")
    assert summary["set"].tolist() == NAMES
    assert set(summary.columns) - {"set"} == set(metrics["metric"])

    report = (compared / "report.md").read_text()
    assert report.startswith(f"# qdm compare: {len(NAMES)} sets from 2 directories")
    for directory in runs:
        assert f"`{directory}`" in report
    assert "## Models" in report
    assert "| set | family | quantum params | classical params |" in report
    for heading in ("## Metrics, all jets", "## Metrics, quark jets (labels: tagger)",
                    "## Metrics, gluon jets (labels: tagger)"):  # fmt: skip
        assert heading in report, heading
    header = "| metric | floor | " + " | ".join(NAMES) + " |"
    assert report.count(header) == 3
    for metric in metrics["metric"].unique():
        assert f"| {metric} | " in report, metric
    for name in NAMES:
        assert f"| {name} | " in report  # a row of the models table
    # the standard checks found the DDPM/DDIM pair and the untrained model among the sets
    assert "**fake, DDIM vs fake, DDPM** (all jets" in report
    assert "**fake, DDPM vs fake untrained, DDPM**: the untrained model is" in report


def test_metrics_are_those_of_the_evaluation(
    compared: Path, data: JetImageData, runs: tuple[Path, Path]
) -> None:
    # The numbers in metrics.csv are evaluate() on the stored sets, with the given seed.
    from qdm_qiskit.results.sets import read_sets

    records = [*read_sets(runs[0]).records, *read_sets(runs[1]).records]
    sets = [SampleSet(name, r.images, r.labels, r.pairs)
            for name, r in zip(NAMES, records, strict=True)]  # fmt: skip
    expected = evaluate(sets, real_jets(data), bootstrap=5, seed=3).table
    metrics = _metrics(compared)
    pd.testing.assert_frame_equal(metrics, expected, check_dtype=False, rtol=1e-12)
    # and they make sense: real jets sit near the floor, noise far above it
    rows = metrics[(metrics["subset"] == "all")].set_index(["set", "metric"])
    real = rows.loc[("validation jets [runA]", "fpd")]
    noise = rows.loc[("fake untrained, DDPM", "fpd")]
    assert noise["value"] > 10 * real["value"]
    assert noise["value"] > real["floor"] + 5 * noise["uncertainty"]


def test_duplicate_names_get_the_directory_name(compared: Path) -> None:
    metrics = _metrics(compared)
    assert "validation jets" not in set(metrics["set"])
    a = metrics[metrics["set"] == "validation jets [runA]"].reset_index(drop=True)
    b = metrics[metrics["set"] == "validation jets [runB]"].reset_index(drop=True)
    assert len(a) == len(b) > 0
    # the same images: the same values (the bootstrap draws differ per set)
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-12)
    # a name that appears once keeps its name
    assert "with holes" in set(metrics["set"]) and "fake, DDPM" in set(metrics["set"])


def test_invalid_images_are_counted_and_noted(compared: Path) -> None:
    metrics = _metrics(compared)
    holes = metrics[metrics["set"] == "with holes"]
    assert (holes["n_invalid"] == N_HOLES + 1).all()
    assert (holes[holes["subset"] == "all"]["n"] == 120 - N_HOLES - 1).all()
    assert (metrics[metrics["set"] != "with holes"]["n_invalid"] == 0).all()
    report = (compared / "report.md").read_text()
    assert "Notes:" in report
    notes = [line for line in report.splitlines() if line.startswith("- with holes:")]
    assert len(notes) == 1 and f"{N_HOLES + 1} of 120 images" in notes[0], notes
    assert (
        f"| with holes | angle | 4 | 8 | 1.0 | 4.17 | - | engine | {120 - N_HOLES - 1} / 120 |"
        in (report)
    )


def test_invalid_images_raise_no_numpy_warnings(data: JetImageData, tmp_path: Path) -> None:
    # Images with a negative pixel are left out of every metric; the figures must not feed them
    # to the observables either (sqrt of a negative width on stderr).
    directory = _write(tmp_path / "holes", [_record("holes", "with holes", _holes(data))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _compare((directory,), tmp_path / "results")
    runtime = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert runtime == []


def test_same_seed_gives_identical_metrics(
    compared: Path, runs: tuple[Path, Path], tmp_path: Path
) -> None:
    again = _compare(runs, tmp_path / "again", "--seed", "3")
    assert (again / "metrics.csv").read_bytes() == (compared / "metrics.csv").read_bytes()
    other = _compare(runs, tmp_path / "other", "--seed", "4")
    first = _metrics(compared)
    second = _metrics(other)
    # the seed draws the bootstrap, the floor sample, the classifier folds and the FPD's
    # extrapolation subsets; any other distance between the whole set and the reference does not
    # depend on it
    distances = ~first["metric"].isin(["classifier_auc", "fpd"])
    np.testing.assert_array_equal(first["value"][distances], second["value"][distances])
    assert not np.allclose(first["uncertainty"].fillna(0), second["uncertainty"].fillna(0))


def test_a_set_whose_images_are_all_nan_is_reported_not_fatal(
    data: JetImageData, tmp_path: Path
) -> None:
    # A diverged sampler returns NaN rows (images_from_pixel_values keeps them NaN so that the
    # failure is reported rather than hidden): the comparison must still be written.
    directory = _write(tmp_path / "diverged", [
        _record("val", "validation jets", data.part("validation")),
        _record("nan", "diverged", np.full((40, 4, 4), np.nan)),
    ])  # fmt: skip
    results = tmp_path / "results"
    out = _compare((directory,), results)
    metrics = _metrics(out)
    diverged = metrics[metrics["set"] == "diverged"]
    assert (diverged["n_invalid"] == 40).all() and (diverged["n"] == 0).all()
    assert diverged["value"].isna().all()
    report = (out / "report.md").read_text()
    assert "- diverged: 40 of 40 images" in report
    assert "| diverged | angle | 4 | 8 | 1.0 | 12.5 | - | engine | 0 / 40 |" in report


def test_compare_a_qdm_sample_directory(tmp_path: Path) -> None:
    # qdm sample writes sets.json beside samples.npz, in its model's data representation.
    config = tmp_path / "cfg.toml"
    config.write_text(TRAIN_CONFIG)
    ok(run("train", config, "--results-dir", tmp_path / "trained"))
    trained = only_dir(tmp_path / "trained", "train-")
    ok(run("sample", trained / "checkpoint.pt", "--n", "30", "--seed", "2",
           "--results-dir", tmp_path / "sampled", "--jobs-dir", tmp_path / "jobs"))  # fmt: skip
    sampled = only_dir(tmp_path / "sampled", "sample-")
    stored = json.loads((sampled / "sets.json").read_text())
    assert stored["representation"] == load_info(trained)["config"]["data"]
    (entry,) = stored["sets"]
    assert entry["name"] == f"quantum angle ({trained.name}), engine"
    assert entry["family"] == "angle" and entry["count"] == 30 and entry["seed"] == 2
    with np.load(sampled / "samples.npz") as archive, np.load(sampled / ARRAYS_FILE) as sets:
        np.testing.assert_array_equal(sets[entry["key"]], archive["images"])
    out = _compare((sampled,), tmp_path / "results")
    metrics = _metrics(out)
    assert set(metrics["set"]) == {entry["name"]}
    everything = metrics[metrics["subset"] == "all"]
    assert (everything["n"] == 30).all() and (everything["n_reference"] == 20).all()
    assert np.isfinite(everything[["value", "floor"]].to_numpy()).all()


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(("field", "value"), [("npix", 8), ("split_seed", 1), ("max_jets", 600)])
def test_a_different_representation_is_refused(
    runs: tuple[Path, Path], data: JetImageData, tmp_path: Path, field: str, value: int
) -> None:
    other = _write(tmp_path / "elsewhere",
                   [_record("val", "other jets", data.part("validation"))],
                   {**REPRESENTATION, field: value})  # fmt: skip
    results = tmp_path / "results"
    result = run("compare", runs[0], other, "--bootstrap", "5", "--results-dir", results)
    line = assert_one_error_line(
        result, f"{field}: {REPRESENTATION[field]!r} vs {value!r}", str(runs[0]), str(other)
    )
    assert "different data representations" in line
    other_fields = set(REPRESENTATION) - {field}
    assert not any(re.search(rf"\b{name}:", line) for name in other_fields), line
    no_output(results, "compare")


def test_a_missing_directory_is_one_error_line(runs: tuple[Path, Path], tmp_path: Path) -> None:
    results = tmp_path / "results"
    result = run("compare", runs[0], tmp_path / "nowhere", "--results-dir", results)
    assert_one_error_line(result, "nowhere", "no such results directory")
    no_output(results, "compare")


def test_a_directory_without_sets_is_one_error_line(tmp_path: Path) -> None:
    empty = tmp_path / "train-1"
    empty.mkdir()
    (empty / "checkpoint.pt").write_bytes(b"x")
    results = tmp_path / "results"
    result = run("compare", empty, "--results-dir", results)
    assert_one_error_line(result, "train-1", "holds no generated jet images", "qdm run")
    no_output(results, "compare")


def test_a_corrupt_archive_is_one_error_line(
    runs: tuple[Path, Path], data: JetImageData, tmp_path: Path
) -> None:
    broken = _write(tmp_path / "broken", [_record("val", "v", data.part("validation"))])
    raw = (broken / ARRAYS_FILE).read_bytes()
    (broken / ARRAYS_FILE).write_bytes(raw[: len(raw) // 2])
    results = tmp_path / "results"
    result = run("compare", runs[0], broken, "--results-dir", results)
    assert_one_error_line(result, "broken", "corrupt")
    no_output(results, "compare")


def test_no_directories_and_bad_bootstrap(runs: tuple[Path, Path], tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert_one_error_line(run("compare", "--results-dir", results), "at least one")
    result = run("compare", runs[0], "--bootstrap", "1", "--results-dir", results)
    assert_one_error_line(result, "--bootstrap must be at least 2")
    no_output(results, "compare")


def test_an_unreadable_representation_is_one_error_line(data: JetImageData, tmp_path: Path) -> None:
    odd = _write(tmp_path / "odd", [_record("val", "v", data.part("validation"))],
                 {**REPRESENTATION, "npixels": 4})  # fmt: skip
    results = tmp_path / "results"
    result = run("compare", odd, "--results-dir", results)
    assert_one_error_line(result, "unknown option 'npixels'")
    no_output(results, "compare")
    manifest = json.loads((odd / "sets.json").read_text())
    assert manifest["representation"]["npixels"] == 4
