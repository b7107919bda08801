"""Training, exporting, averaging and describing our own emotion network (torch lives only here)."""
