"""Drives a sans-I/O kernel step with a card reader (device code).

    selected = await run(selection.contactless(terminal.aids), reader)

A step is a generator that yields ``Transmit(apdu)`` and is resumed with the R-APDU; its
return value is the result. A reader error (``CardRemoved``, ``NoCard``) is thrown into the
step at the point it waited, so the step's own ``try``/``finally`` runs, and then reaches
the caller.
"""

from payment.emv.apdu import Transmit


async def run(step, reader):
    try:
        action = step.send(None)
        while True:
            if not isinstance(action, Transmit):
                raise TypeError("a kernel step yielded %r, not an action" % (action,))
            try:
                rapdu = await reader.transmit(action.apdu)
            except Exception as e:
                action = step.throw(e)
                continue
            action = step.send(rapdu)
    except StopIteration as e:
        return e.value
