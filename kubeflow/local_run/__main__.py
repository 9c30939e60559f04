"""``python -m kubeflow.local_run``: see the package's docstring."""

import sys

from kubeflow.local_run.cli import main

sys.exit(main())
