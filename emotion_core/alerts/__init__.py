"""Alert rules over the per-student time series, and running them over the store."""
