"""Typed values passed between stages, the label set, box geometry and crops, the base exception, paths."""
