"""Alarm rules evaluated continuously from the readings as they arrive: thresholds with
durations, probe offline, door open, gateway lost; each raised alarm goes to an
``AlarmSink`` (the incidents)."""
