"""Build backend of rc-clock: flit_core's, after writing the build's time
into the package.

The example is deliberately not reproducible: no two builds give the same
wheel, so release-check's rebuild check has a difference to explain.
"""

import time

from flit_core.buildapi import (  # noqa: F401 (re-exported hooks)
    build_sdist,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_wheel,
)
from flit_core.buildapi import build_wheel as flit_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    """Write rc_clock/_built.py with the current time, then build with flit_core."""
    with open("rc_clock/_built.py", "w") as out:
        out.write("BUILT_AT_NS = %d\n" % time.time_ns())
    return flit_build_wheel(wheel_directory, config_settings, metadata_directory)
