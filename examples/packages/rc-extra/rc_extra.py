"""A stray package: its wheel is the unlisted file in the broken example repository."""

__version__ = "0.0.1"
