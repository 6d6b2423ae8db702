"""MMA Studio: adapt a frozen CLIP model to your own classes with the Multi-Modal Adapter."""

__version__ = "0.1.0"
