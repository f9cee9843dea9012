#!/usr/bin/env bash
# The stats_fc sweep models (issues 12 and 16): exporters/stats_fc.sweep_hsap.sh general|european|east_asian|african
# (exporters/sweep_hsap.sh has the steps, the simulations it shares and its run time).
exec bash "$(dirname "$0")/sweep_hsap.sh" stats_fc "$@"
