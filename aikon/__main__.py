import sys

from aikon.cli import main

sys.exit(main())
