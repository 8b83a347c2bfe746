"""Events: what the classifier noticed, turned into starts and ends (``rules.py``), told to the
world (``sink.py``; MQTT's topics and Home Assistant's discovery in ``mqtt_topics.py``;
``webhooks.py``) and kept in an index (``index.py``, rebuilt by ``rebuild.py``)."""
