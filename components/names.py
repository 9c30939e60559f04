"""Names that several stages (and the TensorFlow-free tools) share, each defined once."""

# In the Evaluator's ModelBlessing folder: every gate rule, its figures and verdict.
GATE_FILE = "gate.json"

# In the QualityReport's folder.
REPORT_SUMMARY_FILE = "summary.txt"
REPORT_HTML_FILE = "report.html"
REPORT_CHART_FILE = "quality.png"
REPORT_METRICS_FILE = "metrics.json"
