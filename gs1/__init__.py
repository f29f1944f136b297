"""GS1 standards, pure: identifiers, EPC codecs, Digital Link, CBV and EPCIS, no I/O.

``identifiers`` holds the one GS1 check digit and the identifier values (GTIN, lot,
serial) with the SGTIN, SGLN and SSCC pure-identity URNs, parsed and written in one
place. ``epc`` is the TDS binary codec (SGTIN-96, SSCC-96). ``ai`` is the Application
Identifier table that ``digitallink`` (GS1 Digital Link URIs, EPC URN → canonical
link) checks against. ``cbv`` is the CBV 2.0 vocabulary and its one check.
``epcis/`` is the EPCIS 2.0 event model, XML reader, JSON Schema and Event Hash ID.
``errors`` draws the error tree. It imports no other project package.
"""
