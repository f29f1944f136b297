"""Incidents: an alarm opens one naming the place, the span and the affected lots; its
lifecycle (acknowledged, assessed, disposed per lot, closed) is a chain of signed,
anchored records in the incident's and each lot's ledger stream."""
