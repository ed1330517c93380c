"""`python -m tracer.native`: build the compiled statistics helper (set-up runs this)."""

from __future__ import annotations

import sys

from . import LIBRARY, BuildError, build, up_to_date


def main() -> int:
    if up_to_date() and "--force" not in sys.argv[1:]:
        print(f"tracer.native: {LIBRARY.name} is up to date")
        return 0
    try:
        path = build()
    except BuildError as error:
        print(f"tracer.native: {error}; tracing will use torch's slower reductions", file=sys.stderr)
        return 1
    print(f"tracer.native: built {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
