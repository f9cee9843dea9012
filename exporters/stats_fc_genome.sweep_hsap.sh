#!/usr/bin/env bash
# The stats_fc_genome sweep models (issue 12): exporters/stats_fc_genome.sweep_hsap.sh general|european|east_asian|african
# (exporters/sweep_hsap.sh has the steps, the simulations it shares and its run time).
exec bash "$(dirname "$0")/sweep_hsap.sh" stats_fc_genome "$@"
