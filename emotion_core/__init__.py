"""Classroom mood: find faces in lesson videos, read expressions, keep a per-student time series."""

__version__ = "0.1.0"
