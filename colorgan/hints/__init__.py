"""Colour hints: user points and reference photos that steer colorization (Zhang et al. 2017)."""
