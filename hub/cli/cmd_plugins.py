"""The installed plugins and whether they load.

examples:
  popgen-hub plugins
  POPGEN_HUB_DISABLE_PLUGINS=1 popgen-hub list
"""

from __future__ import annotations

import argparse

NAME, HELP = "plugins", "list installed plugins and whether they load"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> None:
    from ..plugins import DISABLE_VARIABLE, installed_plugins, plugins_disabled

    if plugins_disabled():
        print(f"plugins are disabled ({DISABLE_VARIABLE} is set)")
        return
    plugins = installed_plugins()
    if not plugins:
        print("no plugins installed (see docs/plugins.md to write one)")
        return
    for plugin in plugins:
        state = f"FAILED: {plugin.error}" if plugin.error else "ok"
        print(f"{plugin.group:<9} {plugin.name:<20} {plugin.target:<40} "
              f"({plugin.distribution})  {state}")
