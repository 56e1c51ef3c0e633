"""Return a fixed build stamp; a tiny package for the release-check examples."""

__version__ = "2.1.0"


def stamp():
    """Return the fixed stamp string."""
    return "rc-stamp 2.1.0 (release-check example)"
