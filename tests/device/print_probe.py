"""Print files through hal/sim/printer.py and read the printer's status, on either runtime
(tests/host/test_printer_emupos.py).

    print_probe.py HOST PORT [FILE...]   -> one JSON line: status after printing, or the error
"""

import asyncio
import json
import sys

from core.errors import DeviceError
from hal.sim.printer import NetworkPrinter


async def probe(host, port, files):
    printer = NetworkPrinter(host, port)
    try:
        for name in files:
            with open(name, "rb") as f:
                await printer.write(f.read())
        st = await printer.status()
        return {
            "ready": st.ready,
            "online": st.online,
            "paper_out": st.paper_out,
            "cover_open": st.cover_open,
            "paper_near_end": st.paper_near_end,
            "problems": st.problems(),
        }
    except DeviceError as e:
        return {"error": str(e)}
    finally:
        printer.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(sys.argv[1], int(sys.argv[2]), sys.argv[3:]))))
