# The images the tests run, sourced by scripts/build-test-images.sh (which builds them for Docker) and
# scripts/setup-test-podman.sh (which copies them into podman's store): one image, under every name the tests use.
primary="ghcr.io/opensafely-core/python:v2"
aliases=(
  "ghcr.io/opensafely-core/python:latest"
  "ghcr.io/opensafely-core/ehrql:v1"
  "ghcr.io/opensafely-core/tpp-database-utils:latest"
)
