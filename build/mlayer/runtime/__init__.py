"""A local stand-in for Lambda: /opt and task-dir layout, a warm worker process, REPORT lines."""
