"""`make load`: a mixed client population through the gateway, its refresh chains checked,
optionally with the fault schedule of a compose stack (docs/performance.md: Load)."""
