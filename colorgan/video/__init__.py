"""Film and photo colorization: streaming video I/O, the pipeline, temporal modes, evaluation."""
