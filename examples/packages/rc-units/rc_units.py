"""Convert byte counts to human units; a tiny package for the release-check examples."""

__version__ = "0.3.1"

_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]


def human(size):
    """Return `size` bytes as a short string, e.g. ``human(1536) == "1.5 KiB"``."""
    value = float(size)
    for unit in _UNITS[:-1]:
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} {_UNITS[-1]}"
