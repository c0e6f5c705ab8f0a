"""Outgoing messages: written to the outbox with the business change, delivered after commit."""
