"""Alarm rules evaluated continuously from the readings as they arrive: thresholds with
durations, probe offline, door open, gateway lost; and per lot: a stability budget running
out, a unit read at a wrong place (event-like: raised and cleared at once). Each raised
alarm goes to an ``AlarmSink`` (the incidents).

Pure, then ports, then adapters and the loop::

    model        Alarm, AlarmSink (the port the incidents implement), alarm ids
    rulefile     YAML with line numbers; validate_section; errors "file:line: field: message"
    rules        the rule models (a union on ``kind``), RuleSet.default() / RuleSet.load()
    evaluation   one rule over one series' new readings: new state, alarms raised/cleared
    readings     ReadingSource port and its InfluxDB v1 adapter
    places       Places port (master data, products at a place) over records and custody
    tagreads     TagReadSource port (RFID reads) and its InfluxDB v1 adapter
    lotalarms    the lot rules' alarms from a lot's budget use and from tag reads (pure)
    lotwatch     LotWatch: the lot rules' round (which lots, how often, their state)
    calibrationdue  calibration_due: a probe's calibration due soon or overdue (event-like)
    engine       AlarmEngine (a round: read, evaluate, commit, report) and AlarmLoop

State (per rule, place and device) and the raised alarms live in the records
(``traceability.records.alarmstate``), so a restarted hub loses no alarm.
"""
