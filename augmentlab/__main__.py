"""``python -m augmentlab`` runs the command line, also where the console script is not on PATH."""

from augmentlab.cli import main

main()
