"""Ready-made steps and pipelines that put keraskit estimators to work on real data."""

from .image import ImageShaper

__all__ = ["ImageShaper"]
