"""The ``tunewise`` command line: thin layers over the public Python API."""
