"""``python -m archsim``: the same as the ``archsim`` command."""

from archsim.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
