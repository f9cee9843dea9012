"""Training and export (needs the ``train`` extra: torch, onnx, msprime, matplotlib)."""
