"""The engines behind matching: the ONNX embedder described by its manifest, the
compact projection and the usearch vector index."""
