"""Probe calibration records (issue #20): which probe was calibrated when, by which lab,
with which certificate and uncertainty, and whether a probe was in calibration at a time.

Pure values and rules; the records' table is ``traceability.records.calibrations``, the
signing into the ledger ``traceability.masterdata.calibration``.

* ``record``   ``Calibration``: one certificate of one probe (validated, frozen)
* ``status``   the valid record at t, a probe's status (calibrated, overdue, unknown),
  the first moment of a stay its probe was out of calibration, probes due soon
* ``csvfile``  the documented CSV import: every row checked, the first bad one named
* ``errors``   ``CalibrationRejected`` (a bad value or file: row and field named)
"""
