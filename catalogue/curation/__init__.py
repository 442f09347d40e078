"""What standardisation staff curate: vocabularies, mappings and metadata quality."""
