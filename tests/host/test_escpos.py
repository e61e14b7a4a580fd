"""Our ESC/POS encoder (hal/escpos.py) against python-escpos, byte for byte, for every command
both produce; PC858 against CPython's own cp858 codec."""

import codecs

import pytest
from escpos.printer import Dummy

from hal.escpos import CENTER, LEFT, PC858, RIGHT, EscPos, encode_pc858


def escpos(fn):
    p = Dummy(profile="TM-T88V")
    fn(p)
    return p.output


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda e: e.init(), lambda p: p.hw("INIT")),
        (lambda e: e.codepage(), lambda p: p.charcode("CP858")),
        (lambda e: e.bold(True), lambda p: p.set(bold=True)),
        (lambda e: e.align(CENTER), lambda p: p.set(align="center")),
        (lambda e: e.align(RIGHT), lambda p: p.set(align="right")),
        (lambda e: e.align(LEFT), lambda p: p.set(align="left")),
        (
            lambda e: e.qr("V0;KASSE-1;Kassenbeleg-V1;Beleg^1.00", size=4, ec="Q"),
            lambda p: p.qr("V0;KASSE-1;Kassenbeleg-V1;Beleg^1.00", ec=2, size=4, model=2, native=True),
        ),
        (lambda e: e.qr("X" * 300, size=3, ec="L"), lambda p: p.qr("X" * 300, ec=0, size=3, native=True)),
        (lambda e: e.cut(), lambda p: p.cut()),
        (lambda e: e.cut(partial=True), lambda p: p.cut(mode="PART")),
        (lambda e: e.cut(feed=False, partial=True), lambda p: p.cut(mode="PART", feed=False)),
        (lambda e: e.drawer(2), lambda p: p.cashdraw(2)),
        (lambda e: e.drawer(5), lambda p: p.cashdraw(5)),
        (
            lambda e: e.barcode("4006381333931"),
            lambda p: p.barcode("4006381333931", "EAN13", align_ct=False),
        ),
        (
            lambda e: e.barcode("400638133393", height=80, width=2, hri="NONE"),
            lambda p: p.barcode("400638133393", "EAN13", height=80, width=2, pos="OFF", align_ct=False),
        ),
        (
            lambda e: e.barcode("SMARTECR-0001", "CODE128"),
            lambda p: p.barcode("{BSMARTECR-0001", "CODE128", function_type="B", align_ct=False),
        ),
        (
            lambda e: e.codepage().text("Brötchen 0,45 € Äpfel Süß°\n"),
            lambda p: (p.charcode("CP858"), p.text("Brötchen 0,45 € Äpfel Süß°\n")),
        ),
    ],
    ids=[
        "init",
        "codepage",
        "bold",
        "center",
        "right",
        "left",
        "qr",
        "qr-long",
        "cut",
        "cut-partial",
        "cut-nofeed",
        "drawer2",
        "drawer5",
        "ean13",
        "ean13-nohri",
        "code128",
        "text",
    ],
)
def test_same_bytes_as_python_escpos(ours, theirs):
    e = EscPos()
    ours(e)
    assert e.take() == escpos(theirs)


def test_double_size_is_the_esc_bang_python_escpos_ends_with():
    # python-escpos resets ESC ! twice before setting it; the setting itself is the same
    e = EscPos().size(True, True)
    assert escpos(lambda p: p.set(double_height=True, double_width=True)).endswith(e.take())


def test_pc858_table_matches_the_codec():
    for ch, byte in PC858.items():
        assert codecs.encode(ch, "cp858") == bytes([byte]), ch
    text = "Grüße aus Köln: 12,50 € · Maß 1½"
    assert encode_pc858(text) == codecs.encode(text, "cp858")
    assert encode_pc858("日本") == b"??"  # not in PC858: a question mark, never garbage


def test_bad_arguments():
    with pytest.raises(ValueError):
        EscPos().qr("x", size=0)
    with pytest.raises(ValueError):
        EscPos().qr("x", ec="X")
    with pytest.raises(ValueError):
        EscPos().drawer(3)
    for code, kind in (
        ("4006381333932", "EAN13"),
        ("40063813339", "EAN13"),
        ("Grüße", "CODE128"),
        ("", "CODE128"),
    ):
        with pytest.raises(ValueError):
            EscPos().barcode(code, kind)
    with pytest.raises(ValueError):
        EscPos().barcode("4006381333931", "UPC")


def test_the_reports_charts_are_the_raster_image_python_escpos_sends():
    """The printed X/Z charts (firmware/reports.py: the bar charts drawn on a one-bit panel)
    as GS v 0: byte for byte what python-escpos makes of the same picture."""
    import PIL.Image

    from firmware.reports import picture

    pictures = {
        "hours": [("08-09 Uhr", 1250), ("09-10 Uhr", 4480), ("10-11 Uhr", -300)],
        "groups": [("Lebensmittel", 3980), ("Getränke", 1450)],
        "payments": [("Bargeld", 5100), ("Mastercard", 330)],
        "articles": [("Kaffee Crema 250 g", 2196), ("Brötchen", 450)],
    }
    width, height, bits = picture(pictures, 42 * 12)
    assert any(bits) and len(bits) == width // 8 * height
    image = PIL.Image.frombytes("1", (width, height), bytes(b ^ 0xFF for b in bits))  # 1 = a dot
    assert EscPos().raster(width, height, bits).take() == escpos(lambda p: p.image(image))
    tall = bytes(range(256)) * (576 // 8 * 1000 // 256) + bytes(576 // 8 * 1000 % 256)
    image = PIL.Image.frombytes("1", (576, 1000), bytes(b ^ 0xFF for b in tall))
    theirs = Dummy(profile="TM-T20II")
    theirs.image(image)  # taller than 960 rows: in two pieces, as python-escpos sends it
    assert EscPos().raster(576, 1000, tall).take() == theirs.output
    with pytest.raises(ValueError):
        EscPos().raster(576, 10, bytes(10))
