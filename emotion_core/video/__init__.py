"""Decoding and sampling lesson videos (PyAV); keeping uploads."""
