"""Results: the on-disk results store, tidy tables, post-processing and figures."""

from qdm_qiskit.results.figures import jet_image_preview_png
from qdm_qiskit.results.store import ResultStore, RunResults, parquet_provenance

__all__ = ["ResultStore", "RunResults", "jet_image_preview_png", "parquet_provenance"]
