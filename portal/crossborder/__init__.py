"""Cross-border screens: the compliance list of held and flagged cases, the firms' host-state notifications, and
the checks recorded on a case (compliance.crossborder, pipeline.cases.crossborder)."""
