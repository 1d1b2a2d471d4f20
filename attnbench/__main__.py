"""``python -m attnbench`` runs the CLI."""

from attnbench.cli import main

if __name__ == "__main__":
    main()
