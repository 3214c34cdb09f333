"""Exploring a collection by how it looks: clusters, a 2-D map, album-vs-album comparison.

Everything here works from the vectors a scan already stored (`Catalog.vectors`);
nothing reads a photo again. See docs/explore.md for the measurements behind the choices.
"""
