"""The ``skillrt`` command line."""
