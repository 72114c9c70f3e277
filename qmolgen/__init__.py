"""qmolgen: hybrid quantum-classical generative models for molecules, images and tables."""
__version__ = "0.1.0"
