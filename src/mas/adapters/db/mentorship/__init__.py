"""The mentorship domain's tables and repositories."""
