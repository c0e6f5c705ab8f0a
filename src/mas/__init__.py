"""mas: the backend of the MAS edtech and recruitment suite."""

__version__ = "0.1.0"
