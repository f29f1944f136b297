"""Who is told about an incident, by which channel, and when: recipients and escalation
steps per site, a durable outbox that survives a restart, re-notification until
acknowledged, rate limits."""
