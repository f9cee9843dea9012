#!/usr/bin/env bash
# The imagene_cnn sweep models of issue 12: exporters/imagene_cnn.sweep_hsap.sh general|european|east_asian|african
# (exporters/sweep_hsap.sh has the steps, the simulations it shares and its run time).
exec bash "$(dirname "$0")/sweep_hsap.sh" imagene_cnn "$@"
