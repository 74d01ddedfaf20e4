import steady


def test_imports():
    assert steady.__version__
