"""The engines behind matching: the ONNX embedder described by its manifest, the
compact projection and the vector index (usearch's graph, or for a compact index
faiss's codes and graph)."""
