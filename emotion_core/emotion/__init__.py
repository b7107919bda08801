"""The EmotionModel interface, batched classification, ensembles, and one module per backend."""
