import sys

from pipeline.lineage.cli import main

sys.exit(main())
