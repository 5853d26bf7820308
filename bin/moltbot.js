#!/usr/bin/env node
// Tiny launcher: the whole CLI is one bundled file, so start-up costs one file read.
require("../dist/cli.cjs");
