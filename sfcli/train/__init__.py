"""Training loops (kept apart from the inference core; imported only by the training commands)."""
