"""The analyst workbench: ``newsmon web``, a page to search, group stories, follow actors over
time, see why alerts fired and which feeds went silent — over either store, in the query
language of ``newsmon search`` and the alert rules.

Like a stage, it shares only the ``newsmon`` core: the store port (``search``, ``aggregate``),
the query parser, and the core readers of the rules file, the silences and the poller's state.
"""
