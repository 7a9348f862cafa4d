"""Reliability and security: load, faults, bad input, properties and the studio's
defences. Long variants carry the ``soak`` marker (``make soak``); see
docs/reliability.md for what each measures and the figures the suite produced."""
