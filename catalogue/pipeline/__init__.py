"""Sources to store: configuration, harvesting, publishing, uploads and the schedule."""
