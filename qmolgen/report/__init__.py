"""Figures and comparison tables from run folders."""
