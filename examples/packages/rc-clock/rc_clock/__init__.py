"""Say when the wheel was built; a deliberately non-reproducible example package."""

__version__ = "0.1.0"


def built_at():
    """Return the build time recorded in the wheel, in nanoseconds since 1970."""
    from rc_clock._built import BUILT_AT_NS

    return BUILT_AT_NS
