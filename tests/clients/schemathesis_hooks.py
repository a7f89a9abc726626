"""Schemathesis hooks for test_openapi_schemathesis.py (loaded through
SCHEMATHESIS_HOOKS): Glance's image update takes a JSON patch under its own
media type, which Schemathesis does not know is JSON."""

import schemathesis

schemathesis.serializer.alias("application/openstack-images-v2.1-json-patch", "application/json")
