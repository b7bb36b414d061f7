"""``python -m predscore``: the command line, as the ``predscore`` script."""

from predscore.cli import main

main()
