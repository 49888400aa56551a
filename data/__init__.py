"""Datasets: YOLO layout, the SPARK converter, synthetic data and the decoded-image cache."""

from spacehpo.data.classes import CLASS_NAMES, NUM_CLASSES
from spacehpo.data.errors import DataError

__all__ = ["CLASS_NAMES", "NUM_CLASSES", "DataError"]
