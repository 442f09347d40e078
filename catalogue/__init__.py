"""Metadata catalogue and variable explorer for Norwegian health data."""
