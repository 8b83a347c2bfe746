"""Events: what the classifier noticed, turned into starts and ends (``rules.py``), told to the
world (``sink.py``, ``webhooks.py``, ``discovery.py``) and kept in an index (``index.py``)."""
