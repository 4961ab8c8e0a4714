"""Numbered SQL migrations of the pile, applied in order by `sabbatical.db.connect`. Never edit a shipped one."""
