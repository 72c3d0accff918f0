"""``python -m sfcli.cli`` runs the command line (used with torchrun)."""

from sfcli.cli import main

main()
