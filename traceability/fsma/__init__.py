"""FDA FSMA 204 (the Food Traceability Rule, 21 CFR 1 Subpart S): the electronic sortable
spreadsheet of Critical Tracking Events and their Key Data Elements, from the EPCIS
events and master data in the records (issue #20; ``docs/fsma204.md``).

* ``cte``     the CTEs, which EPCIS event is which, the KDE columns each must fill (pure)
* ``lots``    the lots an event moves, with role and quantity (pure)
* ``row``     one row per CTE and lot: EPCIS fields and master data → KDEs, the missing
  ones named (pure)
* ``place``   a place as FDA's location description, and what of it the records lack (pure)
* ``origin``  a packed lot's harvest and cooling (§1.1330), from ILMD and earlier CTEs (pure)
* ``trace``   the rows a request asks for: a product's, a lot's trace one step back and
  forward (pure)
* ``export``  ``Fsma204Export``: the window's CTE events from the records, mapped
* ``budget``  the bound on an export's work: events, rows, lots, time
* ``sheet``   CSV (RFC 4180) and XLSX writers, formula injection defused (pure)
* ``errors``  ``FsmaError`` and ``ExportRefused``

The CLI (``tracehub records fsma204``) and ``GET /auditor/fsma204`` (``web.fsmaexport``)
write the same sheet.
"""
