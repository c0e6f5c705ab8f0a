"""Persistence: advanced-alchemy models, repositories and the unit of work. ORM stays here."""
