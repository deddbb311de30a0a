"""Ready-made steps and pipelines that put keraskit estimators to work on real data."""

from .image import ImageShaper
from .tabular import make_tabular_pipeline

__all__ = ["ImageShaper", "make_tabular_pipeline"]
