"""`python -m piu` runs the command line."""

from piu.cli import main

if __name__ == "__main__":
    main()
