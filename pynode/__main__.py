"""python -m pynode ... is the `memorydb` command."""
import sys

from pynode.cli import main

sys.exit(main())
