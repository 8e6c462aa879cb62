"""Keras 3's own callback and optimizer tests, run against gpukeras (``nox -s keras-suite``).

``shim`` maps ``keras.*`` imports to ``gpukeras.*``; ``plugin`` is the pytest plugin that installs
it; ``run`` copies the test files out of the installed keras wheel at run time and runs them.
Nothing here is collected by the normal pytest run (no ``test_*.py`` files).
"""
