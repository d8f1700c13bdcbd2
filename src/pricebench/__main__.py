import sys

from pricebench.cli import main

sys.exit(main())
