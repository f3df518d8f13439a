"""Tables, figures and the report: what a reader of the repository sees."""
