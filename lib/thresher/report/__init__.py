"""The run report: `report.html` of one run and the side-by-side comparison of two runs.

Self-contained HTML: charts are inline SVG generated here (no plotting library to install, no script, no
network; a Content-Security-Policy forbids both), so a report opens anywhere, from a notebook's file browser to
an e-mail attachment. Data comes from the run's committed tables and manifest, never from the running job.
"""
