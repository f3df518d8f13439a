import sys

from cw_distillation.cli import main

sys.exit(main())
