"""Results: the on-disk results store, post-processing and figures."""

from qdm_qiskit.results.figures import jet_image_preview_png

__all__ = ["jet_image_preview_png"]
