"""Matching: which photos are the same picture, the same moment or the same scene
(signatures, proof of duplicates, the neighbour graph and grouping)."""
