"""Finance tables and repositories."""
