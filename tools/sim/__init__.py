"""Virtual peripherals of the host simulator (CPython only): the TSE card, and later the
printer, displays, scanner and card reader. Each is reached over the wire its real device uses."""
