"""An example popgen-hub plugin package (see docs/plugins.md).

Each plugin lives in its own module so that loading one imports only what it needs: the
architecture needs torch, the others do not.
"""
