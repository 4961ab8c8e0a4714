"""Sprints: two-week attempts at one research question.

`model` (the sprint folder and sprint.md), `scaffold` (new-sprint), `journal` (journal.jsonl),
`tracking` (the sprint's MLflow experiment), `lifecycle` (list, status, log, close, reopen),
`reading_list` (the pile searched with the question), `notebooks` (headless execution),
`servers` (JupyterLab and the MLflow UI), `tour` (the tour's sprint stage). The notebook API is
`sabbatical.track`.
"""

from .model import Sprint

__all__ = ["Sprint"]
