"""Mail transports for the outbox: the local mailbox and SMTP."""
