"""The vaccine timing planner."""

from .native import check_native_build

# Before anything imports the rules core: a compiled core that no longer matches its sources must not run.
NATIVE = check_native_build()
