"""The contract of API v1 as marshmallow schemas: the request and response shapes (and the source of
openapi.yaml), and the fast loader derived from the request schema. Below the HTTP layer: the shared planning
path (service.planning) loads requests with it, and the routes (service.api) document and answer with it."""
