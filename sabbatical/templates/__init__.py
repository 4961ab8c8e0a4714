"""Templates shipped with sabbatical: the sprint folder (sprint.md and its notebooks)."""
