"""Per-class summary of a jet dataset, as printed by ``qdm data inspect``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from qdm_qiskit.data.format import GLUON, QUARK, JetDataset
from qdm_qiskit.data.observables import jet_observables
from qdm_qiskit.stats import roc_auc


def summarize_jets(dataset: JetDataset) -> pd.DataFrame:
    """Return one row per class (quark, gluon, all) with counts and observable summaries.

    Columns: ``jets``, ``multiplicity_mean``, ``multiplicity_std``, ``multiplicity_median``,
    ``mass_mean``, ``mass_std``, ``mass_median`` (GeV), ``pt_mean`` (GeV), ``ptd_mean``.
    """
    obs = jet_observables(dataset.X)
    rows = {}
    for name, mask in (
        ("quark", dataset.y == QUARK),
        ("gluon", dataset.y == GLUON),
        ("all", np.ones(dataset.n_jets, dtype=bool)),
    ):
        part = obs[mask]
        rows[name] = {
            "jets": int(mask.sum()),
            "multiplicity_mean": part["multiplicity"].mean(),
            "multiplicity_std": part["multiplicity"].std(),
            "multiplicity_median": part["multiplicity"].median(),
            "mass_mean": part["mass"].mean(),
            "mass_std": part["mass"].std(),
            "mass_median": part["mass"].median(),
            "pt_mean": part["pt"].mean(),
            "ptd_mean": part["ptd"].mean(),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def discrimination_auc(dataset: JetDataset) -> dict[str, float]:
    """ROC AUC of single observables for telling quark from gluon jets (0.5 = no power).

    Each observable is oriented so that the AUC is at least 0.5 (gluon jets have more
    constituents, larger mass, smaller pT^D). With only one class present every AUC is NaN.
    """
    names = ("multiplicity", "mass", "ptd", "girth")
    is_gluon = dataset.y == GLUON
    if is_gluon.all() or not is_gluon.any():
        return dict.fromkeys(names, float("nan"))
    obs = jet_observables(dataset.X)
    out = {}
    for name in names:
        auc = roc_auc(obs[name].to_numpy(), is_gluon)
        out[name] = max(auc, 1.0 - auc)
    return out
