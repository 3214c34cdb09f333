"""Scanning: walking folders, decoding images safely, hashing and the resumable
pipeline that feeds the catalog."""
