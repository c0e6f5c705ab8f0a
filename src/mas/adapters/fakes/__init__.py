"""In-memory stand-ins for outside systems, used by tests and local development."""
