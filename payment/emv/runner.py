"""Drives a sans-I/O kernel step with the devices it asks for (device code).

    selected = await run(selection.contactless(terminal.aids), reader)
    outcome = await run(kernel.transaction(terminal, txn), reader, pinpad, host)

A step is a generator that yields an action and is resumed with its answer; its return value
is the result. ``Transmit(apdu)`` goes to the card reader (the R-APDU comes back);
``Verify(method)`` to the PIN pad (``await pinpad.verify(method, reader, pan, key)``: a
``cvm.PIN_*`` outcome; without a PIN pad ``PIN_PAD_FAILED``; an online PIN's enciphered block
is taken from the PIN pad into the next ``GoOnline``); ``Choose(labels)`` to the PIN pad too
(``await pinpad.choose(labels)``: the cardholder's pick; without one ``NO_CHOICE``);
``GoOnline`` to the acquirer link (``await host.authorise(action)``, ``host.refund(action)``
for a refund: a ``HostAnswer``, or None when it cannot be reached; without one, None). A
device error (``CardRemoved``, ``NoCard``, the host's) is thrown into the step where it
waited, so the step's own ``try``/``finally`` runs, and then reaches the caller.
"""

from payment.emv.apdu import Transmit
from payment.emv.cvm import PIN_PAD_FAILED, Verify
from payment.emv.online import GoOnline
from payment.emv.selection import NO_CHOICE, Choose


async def _answer(action, reader, pinpad, host):
    if isinstance(action, Transmit):
        return await reader.transmit(action.apdu)
    if isinstance(action, Choose):
        choose = getattr(pinpad, "choose", None)
        return NO_CHOICE if choose is None else await choose(action.labels)
    if isinstance(action, Verify):
        if pinpad is None:
            return PIN_PAD_FAILED
        return await pinpad.verify(action.method, reader, action.pan, action.key)
    if isinstance(action, GoOnline):
        if host is None:
            return None
        if pinpad is not None:  # an online PIN's enciphered block goes with the request (DE 52)
            action.pin_block = pinpad.take_block()
        return await (host.refund(action) if action.refund else host.authorise(action))
    raise TypeError("a kernel step yielded %r, not an action" % (action,))


async def run(step, reader, pinpad=None, host=None):
    try:
        action = step.send(None)
        while True:
            try:
                answer = await _answer(action, reader, pinpad, host)
            except TypeError:
                raise
            except Exception as e:
                action = step.throw(e)
                continue
            action = step.send(answer)
    except StopIteration as e:
        return e.value
