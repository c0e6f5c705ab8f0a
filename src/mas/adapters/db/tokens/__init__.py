"""The tokens domain's tables and repositories."""
