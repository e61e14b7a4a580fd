from support import raises

from core.cli import options

USAGE = "usage: x --a A [--b B]"


def test_pairs_defaults_and_required():
    assert options(["--a", "1"], USAGE, ("a", "b"), ("a",), {"b": "2"}) == {"a": "1", "b": "2"}
    assert options(["--b", "3", "--a", "1"], USAGE, ("a", "b"), ("a",)) == {"a": "1", "b": "3"}


def test_every_mistake_names_itself_and_shows_the_usage():
    for argv, start in (
        (["--c", "1"], "unknown argument '--c'"),
        (["a"], "unknown argument 'a'"),
        (["--a"], "--a needs a value"),
        ([], "--a is required"),
        (["--help"], "usage"),
    ):
        e = raises(ValueError, options, argv, USAGE, ("a", "b"), ("a",))
        assert str(e).startswith(start) and str(e).endswith(USAGE), str(e)
