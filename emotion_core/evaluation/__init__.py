"""Measuring an emotion model on labelled photos."""
