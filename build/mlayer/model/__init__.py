"""Models: the registry under model_artifacts/, the demo trainer, and the model layer build."""
