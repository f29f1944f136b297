"""Reports a person releases: a temperature report, signed (21 CFR 11 e-signature) by the
quality user who releases it, its PDF kept as released and its hash anchored
(``traceability.reports.release``)."""
