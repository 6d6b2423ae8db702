"""`python -m mma_studio` behaves exactly like the `mma-studio` command."""

from mma_studio.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
