"""Training a run: the loop, the optimizers, the pipeline from a config to a run, time estimates."""
