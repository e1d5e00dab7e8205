"""`python -m monitor ...`: the same command line as the `monitor` console script."""

from monitor.cli import main

if __name__ == "__main__":
    main()
