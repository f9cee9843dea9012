#!/usr/bin/env bash
# The two-branch sweep models (issue 12): exporters/imagene_stats.sweep_hsap.sh general|european|east_asian|african
# (exporters/sweep_hsap.sh has the steps, the simulations it shares and its run time).
exec bash "$(dirname "$0")/sweep_hsap.sh" imagene_stats "$@"
