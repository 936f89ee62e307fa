"""Understanding a run: evaluation, comparison, calibration, kept epochs, explanations, inside a network."""
