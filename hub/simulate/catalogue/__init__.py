"""One module per scenario; the registry is :mod:`popgen_hub.simulate.scenarios`."""
