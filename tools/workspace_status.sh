#!/bin/sh
# Stamping values for --stamp (see .bazelrc's release config). Empty when git is unavailable.
rev=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=$(git describe --tags --always --dirty 2>/dev/null || echo 0.0.0)
echo "STABLE_GIT_REVISION $rev"
echo "STABLE_VERSION $version"
