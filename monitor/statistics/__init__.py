"""Stage 4, measure: tickets as numpy columns (`ticket_frame`, replayed as known at a time by
`known_at`), Kaplan-Meier with confidence intervals (`survival`), norms and periods, the
scorecard and its immutable snapshots, the overdue list and a provider's history.

Resolution (the `providers` package) has run before this stage; reports render what it gives."""
