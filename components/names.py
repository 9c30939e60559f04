"""Names that several stages (and the TensorFlow-free tools) share, each defined once."""

# In the Evaluator's ModelBlessing folder: every gate rule, its figures and verdict.
GATE_FILE = "gate.json"

# In the QualityReport's folder.
REPORT_SUMMARY_FILE = "summary.txt"
REPORT_HTML_FILE = "report.html"
REPORT_CHART_FILE = "quality.png"
REPORT_METRICS_FILE = "metrics.json"

# Beside a Trainer's SavedModel (Format-Serving/): how the model started (warm start or
# scratch, from which model); components.model.warm_start writes it.
WARM_START_STARTED_FILE = "assets.extra/warm_start/started.json"

# The logger components report progress through (the Trainer's epochs): the local runner
# shows its records on the terminal while the rest of the log goes to the run's log file.
PROGRESS_LOGGER = "movie_recs.progress"
