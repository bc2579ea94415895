"""The ``qdm`` command line: thin click commands over library functions (nothing imports it)."""
