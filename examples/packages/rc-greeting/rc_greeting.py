"""Say hello; a tiny package for the release-check examples."""

__version__ = "1.0.0"


def greet(name):
    """Return a greeting for `name`."""
    return f"Hello, {name}!"
