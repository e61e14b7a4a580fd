"""Blocking library calls off the event loop (CPython): pyscard and python-escpos wait inside C
and socket calls, so each device gets one worker thread. Its calls stay in order, and a slow
or hung device holds up only the coroutine that asked it, never the loop.

    worker = Worker("pcsc")
    atr = await worker.run(conn.getATR)
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor


class Worker:
    def __init__(self, name):
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self):
        self._pool.shutdown(wait=False)
