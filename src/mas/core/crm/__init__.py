"""Sales CRM: one de-duplicated lead pool, intake from every door, assignment, targets."""
