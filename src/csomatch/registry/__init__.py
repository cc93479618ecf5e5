"""The registry: who offers which service where, to whom, with how many places.

One module per part, each a set of plain async use cases that take a connection (the caller
owns the transaction): ``organizations`` (and their sites), ``services``, ``capacity``,
``addresses`` (the one rule of confidential addresses), ``areas`` (the gazetteer looked up),
``taxonomy``, ``tokens`` (who a bearer token speaks for); ``seeding`` and ``gazetteer`` load
the reference data and the demo registry.
"""
