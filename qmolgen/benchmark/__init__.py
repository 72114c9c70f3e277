"""`qmolgen benchmark`: every model of a recipe under one budget, over seeds, into a report with charts."""
