"""Quantum circuits (PennyLane definition), their batched simulator, and latent sources built on them."""
