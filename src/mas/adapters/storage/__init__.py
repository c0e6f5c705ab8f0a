"""Implementations of the ``Storage`` port."""
