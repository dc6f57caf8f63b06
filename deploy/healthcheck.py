"""`python -m deploy.healthcheck URL`: exit 0 when URL answers 2xx (container health checks).

The image has no curl; this is what compose's health checks run.
"""

from __future__ import annotations

import sys
import urllib.request


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m deploy.healthcheck URL", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(args[0], timeout=5) as answer:  # noqa: S310 (own URL)
            return 0 if 200 <= answer.status < 300 else 1
    except OSError as error:
        print(f"{args[0]}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
