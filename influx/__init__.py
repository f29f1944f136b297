"""One small InfluxDB v1 HTTP client: write line protocol, query InfluxQL, quote, fail clearly.

Pure modules: ``quoting`` (InfluxQL string literals and identifiers), ``series`` (the
``/query`` answer parsed into frozen ``Series``, statement errors raised). Adapter:
``client`` (``InfluxClient`` over httpx: ``write``, ``query``, ``create_database``,
``ping``; the only module importing httpx). Retention: ``retentionplan`` (pure: the
policies and continuous queries a database should have, as InfluxQL) and ``retention``
(``RetentionAdmin``: read them back and apply only what differs). ``errors`` draws the
error tree. The v1 API
is the one every InfluxDB line serves (1.x, 2.x's compatibility endpoints, 3.x). It
imports no other project package; the gateway and traceability translate its errors.
"""
