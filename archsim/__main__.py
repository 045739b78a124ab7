"""``python -m archsim``: the same as the ``archsim`` command."""

from archsim.cli.main import console_main

if __name__ == "__main__":
    console_main()
