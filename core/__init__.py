"""The bottom layer: helpers every app may use. Imports no app (only Django, DRF, the stdlib)."""
