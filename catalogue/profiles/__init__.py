"""Mappings between the models and RDF, one module per application profile."""
