"""The ``archsim`` command line: the click group in ``archsim.cli.main``, one module per
command group, shared options in ``archsim.cli.options`` and input loading in
``archsim.cli.inputs``."""
