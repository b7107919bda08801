"""Face embeddings, the embedding worker process, track sampling, and joining tracks into people."""
