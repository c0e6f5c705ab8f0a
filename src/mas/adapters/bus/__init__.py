"""Implementations of the ``EventBus`` port: in-process and NATS core subjects."""
