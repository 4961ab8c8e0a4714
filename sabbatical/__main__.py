"""`python -m sabbatical` runs the command line."""

from .cli import main

main()
