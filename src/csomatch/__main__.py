"""``python -m csomatch``: the command line lives in ``csomatch.cli``."""

from csomatch.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
