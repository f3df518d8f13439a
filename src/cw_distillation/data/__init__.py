"""Datasets: official sources, verified download, file formats, prepared arrays."""
