"""What users read from a study.

- status: `study status`: per stage counts, the best trial, running trials, an ETA.
- study_admin: `study list` and `study delete`.
- export: a trial's best weights, settings and pictures as a folder (and ONNX).
- compare: a staged plan (and TPE) against the full grid.
- compare_html: compare's self-contained HTML report.
- dashboard: optuna-dashboard on the study storage and its artifact store.
- dashboard_options: the dashboard's flags, checked where they enter.
- dashboard_gunicorn: optuna-dashboard under gunicorn, for a team.
"""
