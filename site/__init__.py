"""The explorer: FastAPI routes, templates and static files."""
