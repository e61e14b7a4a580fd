"""``python -m firmware`` / ``micropython -m firmware``: see firmware.main."""

import sys

from firmware.main import start

sys.exit(start(sys.argv[1:]))
