"""USB data-logger exports: the bytes of a CSV file in, validated readings out. Pure.

``formats`` is the entry (``read_export``): it finds the file's table, tells which
family made it (or refuses an unknown or ambiguous one, naming what it saw) and
builds a ``LoggerExport`` (``export``). One module per family says what its table's
header looks like: ``generic`` ("timestamp,temperature" with the unit in the header),
``logtag`` (a preamble of metadata lines, then Date/Time/Temperature), ``elitech``
(Elitech/Tempmate: a header block naming serial and time zone, then
No./Time/Temperature). Shared by them: ``table`` (text, rows, preamble, columns),
``units`` (°C/°F, explicit or refused), ``times`` (local times, time zones, the logging
interval; never guessed). ``errors`` holds ``LoggerFileError``. Imports only ``gs1``
(through ``sensors``) and the standard library besides pydantic.
"""
