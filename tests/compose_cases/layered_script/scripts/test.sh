#!/bin/sh
set -e
docker compose -f compose.yaml -f compose.test.yaml run --rm tests
