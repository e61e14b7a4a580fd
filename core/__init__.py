"""The ground every layer stands on (device code): errors with their codes, money in cents,
GTIN check digits, the configuration schema engine, calendar arithmetic, file helpers and the
command-line option parser. It imports nothing else of the project; everything may import it.
"""
