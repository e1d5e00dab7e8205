"""`python -m monitor`: the same as the `monitor` console command."""

from monitor.cli import main

main()
