import sys

from commands.lineage.cli import main

sys.exit(main())
