"""The temperature report a quality person signs: a lot's readings against its band, its
excursions with their incidents and dispositions, the probes that read it and the proof,
as HTML and as PDF (``web.report.document``).

``ReportBuilder`` (``web.report.build``) gathers a ``TemperatureReport``
(``web.report.view``) from what the lot page is built of, plus what an inspector needs
and a shopper does not (place URNs, probe ids, every batch root and transaction).
"""
