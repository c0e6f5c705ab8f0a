"""Mentorship's adapters: the Google Calendar client."""
