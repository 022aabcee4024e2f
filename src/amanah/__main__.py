"""``python -m amanah`` is the ``amanah`` command."""

from amanah.cli import main

main()
