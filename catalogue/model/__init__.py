"""The domain model: pydantic models, ids, RDF namespaces and helpers, the shipped ontologies."""
