"""`python -m datagen.cli`: the console script."""

from datagen.cli import main

main()
