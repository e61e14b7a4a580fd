"""A TSE stand-in for the benchmarks' workloads (device code): it answers at once and signs
nothing, so what is timed is the firmware, not the card.

    till = Till(master, journal, InstantTse(), clock, log)
"""

from tse_sd.protocol import TransactionResult


class InstantTse:
    """Answers like a TSE, at once and without signing: the benchmark measures the firmware."""

    def __init__(self):
        self.number = 0
        self.counter = 0
        self.public_key = b"\x04" + bytes(96)

    def info(self):
        return self

    def _result(self):
        self.counter += 1
        return TransactionResult(self.number, bytes(32), 1767225600 + self.counter, self.counter, bytes(96))

    async def start_transaction(self, client_id):
        self.number += 1
        return self._result()

    async def finish_transaction(self, client_id, number, data, ptype):
        return self._result()
