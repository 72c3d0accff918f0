"""``python -m sfcli`` runs the command line."""

from sfcli.cli import main

main()
