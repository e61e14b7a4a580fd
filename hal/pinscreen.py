"""The PIN pad's own screens (device code, pure): what the customer panel shows while the PIN
pad (hal/touchpin.py) holds it. They live below ``ui/`` on purpose: during PIN entry the
firmware's PIN component, not the application, draws the panel and reads its touches.

    pad(size, digits=3)           # "PIN eingeben", *** and the keys; the SIMULATION banner
    key_at(pad_keys(size), x, y)  # a touch on the pad -> "1".."9", "0", "C", "OK", or None
    choice(size, labels)          # "Anwendung wählen": a key per card application
    key_at(choice_keys(size, n), x, y)   # -> "1".."n"

``size`` is the panel's (width, height). The pad shows one ``*`` per digit: the screen is told
how many digits there are, never which.
"""

from hal.screen import BLACK, WHITE, fit, rgb, text_width

BLUE = rgb(0, 70, 140)
RED = rgb(190, 0, 0)
LIGHT = rgb(230, 230, 230)
BANNER = "SIMULATION - keine echte PIN"
PAD_KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "C", "0", "OK")
TOP = 72  # the keys begin here; above: the title and the stars
BANNER_H = 20
CHOICE_TITLE = "Anwendung wählen"


def _centred(width, y, text, color, scale):
    return ("text", max(0, (width - text_width(text, scale)) // 2), y, text, color, scale)


def pad_keys(size):
    """The PIN pad's keys: ``[(x, y, w, h, key), ...]``, 3 x 4, in the lower part of the panel."""
    w, h = size
    kw, kh = min(96, (w - 40) // 3), min(44, (h - TOP - BANNER_H) // 4 - 6)  # above the banner
    left = (w - 3 * kw - 2 * 8) // 2
    keys = []
    for i, key in enumerate(PAD_KEYS):
        row, col = divmod(i, 3)
        keys.append((left + col * (kw + 8), TOP + row * (kh + 6), kw, kh, key))
    return keys


def _banner(scene, size):
    scene.append(("rect", 0, size[1] - BANNER_H, size[0], BANNER_H, RED, True))
    scene.append(_centred(size[0], size[1] - BANNER_H + 2, BANNER, WHITE, 1))


def pad(size, digits, banner=True):
    """The PIN entry: ``digits`` typed so far shown as ``*``; the keys; the simulator's
    banner (a simulator takes no real PIN)."""
    w, _ = size
    scene = [("fill", WHITE), _centred(w, 4, "PIN eingeben", BLACK, 2)]
    scene.append(_centred(w, 40, "*" * digits if digits else "_", BLACK, 2))
    for x, y, kw, kh, key in pad_keys(size):
        fg, bg = (WHITE, RED) if key == "C" else (WHITE, BLUE) if key == "OK" else (BLACK, LIGHT)
        scene.append(("button", x, y, kw, kh, key, fg, bg, 2))
    if banner:
        _banner(scene, size)
    return scene


MAX_CHOICES = 4


def choice_keys(size, n):
    """A key per application (the first ``MAX_CHOICES``), one under the other, and "Abbruch"
    ("C") below them: each key where it is whatever their number."""
    w, _ = size
    n = min(n, MAX_CHOICES)
    keys = [(24, 44 + i * 40, w - 48, 36, str(i + 1)) for i in range(n)]
    keys.append((24, 48 + MAX_CHOICES * 40, 160, 36, "C"))
    return keys


def choice(size, labels, banner=True):
    """The cardholder's pick of a card's applications (the card asked for confirmation)."""
    w, _ = size
    scene = [("fill", WHITE), _centred(w, 8, CHOICE_TITLE, BLACK, 2)]
    for x, y, kw, kh, key in choice_keys(size, len(labels)):
        if key == "C":
            scene.append(("button", x, y, kw, kh, "Abbruch", WHITE, RED, 1))
        else:
            label = fit("%s  %s" % (key, labels[int(key) - 1]), kw - 8)
            scene.append(("button", x, y, kw, kh, label, BLACK, LIGHT, 1))
    if banner:
        _banner(scene, size)
    return scene


def key_at(keys, x, y):
    """The key under a touch at (x, y), or None."""
    for kx, ky, kw, kh, key in keys:
        if kx <= x < kx + kw and ky <= y < ky + kh:
            return key
    return None
