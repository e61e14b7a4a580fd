"""The operator's sale screen on both runtimes (ui/sale_screen.py): every article of the demo
shop is on a key of its group's pages, every key's touch is its intent, the receipt's lines
and total, and the scene draws on an 800 x 480 panel."""

from support import demo_master

from hal.screen import Panel
from ui import sale_screen

SIZE = (800, 480)


def _master_lists():
    master = demo_master()
    groups = sorted(master.groups.items())
    articles = sorted((a.plu, a.name, a.price, a.group_id) for a in master.articles.values())
    return groups, articles


def _screen(group, page=0, lines=(), total=0):
    groups, articles = _master_lists()
    return sale_screen.sale(SIZE, groups, articles, group, page, list(lines), total)


def test_every_article_is_on_a_key_and_every_key_answers_its_touch():
    groups, articles = _master_lists()
    reachable = set()
    for gid, _ in groups:
        page = 0
        while True:
            scene, areas = _screen(gid, page)
            for i, (x, y, w, h, intent) in enumerate(areas):
                assert sale_screen.intent_at(areas, x + w // 2, y + h // 2) == intent
                for ox, oy, ow, oh, other in areas[i + 1 :]:  # no touch is two keys at once
                    assert x + w <= ox or ox + ow <= x or y + h <= oy or oy + oh <= y, (intent, other)
                assert 0 <= x and x + w <= SIZE[0] and 0 <= y and y + h <= SIZE[1], intent
                if intent[0] == "plu":
                    reachable.add(intent[1])
            if ("page", page + 1) not in [a[4] for a in areas]:
                break
            page += 1
    assert reachable == {a[0] for a in articles}
    intents = [a[4] for a in _screen(groups[0][0])[1]]
    for wanted in (("cash",), ("card",), ("void",), ("abort",), ("subtotal",)):
        assert wanted in intents
    assert ("group", groups[-1][0]) in intents
    assert sale_screen.intent_at(_screen(groups[0][0])[1], 1, 1) is None  # on the receipt


def test_the_receipt_column_and_the_grid_are_drawn():
    lines = [("Kaffee Crema 250 g", "2", 1098, False), ("Vollmilch 1 l", "1", 119, False)]
    lines.append(("Vollmilch 1 l", "1", -119, True))
    scene, _ = _screen("food", 0, lines, 1098)
    texts = [w[3] for w in scene if w[0] == "text"]
    assert "2 Kaffee Crema 250 g" in texts and "10,98" in texts and "STORNO Vollmilch 1 l" in texts
    assert texts[-2:] == ["Summe", "10,98 €"] or "10,98 €" in texts
    labels = [w[5] for w in scene if w[0] == "button"]
    assert "Kaffee Crema 250 g" in labels and "Bar" in labels and "Lebensmittel" in labels
    Panel(SIZE[0], SIZE[1], mono=True).render(scene)  # mono: the runner's heap (see test_ui_customer)
