"""Thin adapters to peer systems, behind the same fit/sample shape as qmolgen models."""
