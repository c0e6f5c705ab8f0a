"""Plumbing every domain shares: ids, time, errors, paging, events, normalisers."""
