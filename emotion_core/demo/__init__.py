"""Composed classes: synthetic terms of stored lessons, for the alert benchmark and the demo."""
