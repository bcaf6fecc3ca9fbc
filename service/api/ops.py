"""Operations routes: liveness, readiness, metrics, the published contract, offline docs, problem types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_swagger_ui
import yaml
from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, render_template, send_from_directory
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from .problems import PROBLEM_TYPES
from .schemas import HealthSchema, ReadySchema

blp = Blueprint("ops", __name__, description="Health, readiness and the API description.")
# Routes that are not part of the API itself (documentation pages and assets) stay out of the spec.
docs = FlaskBlueprint(
    "docs", __name__, template_folder="templates", static_folder="static", static_url_path="/docs/static"
)
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(summary="Liveness: the process answers")
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.doc(summary="Readiness: catalog and rules are loaded")
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self) -> dict[str, Any]:
        ruleset = current_app.extensions["planner"].ruleset
        if not ruleset.catalog.vaccines or not ruleset.therapies.profiles:
            abort(503, message="The catalog or the therapy rules are empty.")
        return {
            "status": "ready",
            "ruleset": dict(ruleset.therapies.versions),
            "catalog_version": ruleset.catalog.version,
            "vaccines": len(ruleset.catalog.vaccines),
            "data_digest": ruleset.data_digest,
        }


def spec_dict() -> dict[str, Any]:
    """The OpenAPI document as the running code describes it (the file at the repo root must equal it)."""
    spec: dict[str, Any] = current_app.extensions["problem_api"].spec.to_dict()
    return spec


def spec_yaml() -> str:
    return yaml.safe_dump(spec_dict(), sort_keys=False, allow_unicode=True, width=110)


@docs.get("/openapi.yaml")
def openapi_yaml() -> Response:
    cache = current_app.extensions.setdefault("openapi_yaml", spec_yaml())
    return Response(cache, mimetype="application/yaml")


@docs.get("/openapi.json")
def openapi_json() -> Response:
    return current_app.response_class(current_app.json.dumps(spec_dict()), mimetype="application/json")


@docs.get("/docs")
def docs_page() -> str:
    return render_template("docs.html")


@docs.get("/docs/swagger-ui/<path:filename>")
def swagger_asset(filename: str) -> Response:
    # Swagger UI's files ship inside the flask-swagger-ui wheel: /docs needs no CDN and no internet.
    return send_from_directory(SWAGGER_UI_DIST, filename, max_age=86400)


@docs.get("/metrics")
def metrics() -> Response:
    body, content_type = current_app.extensions["metrics"].exposition()
    return Response(body, content_type=content_type)


@docs.get("/problems/<slug>")
def problem_type(slug: str) -> dict[str, Any]:
    if slug not in PROBLEM_TYPES:
        abort(404, message=f"No problem type {slug!r}.")
    title, description = PROBLEM_TYPES[slug]
    return {"type": f"/problems/{slug}", "title": title, "description": description}


# Request dates must fall in 1900-01-01..2199-12-31 (schemas.MIN_DATE, MAX_DATE): as a pattern on the year.
REQUEST_DATE_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2})-[0-9]{2}-[0-9]{2}$"
REQUEST_ROOTS = ("PlanRequest", "BatchRequest")


def refine_schemas(api: Any) -> None:
    """State in the document what marshmallow checks in code and apispec cannot translate. Both were found
    by the contract fuzzing: requests the document allowed (both name and cvx; a dose in the year 0169)
    were refused for their shape."""
    components = api.spec.components.schemas
    for name in ("VaccineRequest", "Immunization"):  # the NameOrCvxSchema subclasses: exactly one of the two
        components[name]["oneOf"] = [{"required": ["name"]}, {"required": ["cvx"]}]
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("format") == "date":
                node["pattern"] = REQUEST_DATE_PATTERN
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen and name in components:
                    seen.add(name)
                    walk(components[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for root in REQUEST_ROOTS:
        walk({"$ref": f"#/components/schemas/{root}"})


def document_route(api: Any, app: Any, rule: str, operations: dict[str, Any]) -> None:
    """Describe a route served outside flask-smorest (plain Flask view) in the OpenAPI document."""
    api.spec.path(rule=next(r for r in app.url_map.iter_rules() if r.rule == rule), operations=operations)


def document_plain_routes(api: Any, app: Any) -> None:
    """Describe the routes served outside flask-smorest, so that openapi.yaml lists every public path."""
    text = {"description": "OK"}
    document_route(
        api,
        app,
        "/openapi.yaml",
        {
            "get": {
                "tags": ["ops"],
                "summary": "This OpenAPI document, as YAML",
                "responses": {"200": {**text, "content": {"application/yaml": {"schema": {"type": "object"}}}}},
            }
        },
    )
    document_route(
        api,
        app,
        "/openapi.json",
        {
            "get": {
                "tags": ["ops"],
                "summary": "This OpenAPI document, as JSON",
                "responses": {"200": {**text, "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
    )
    document_route(
        api,
        app,
        "/docs",
        {
            "get": {
                "tags": ["ops"],
                "summary": "Interactive documentation (Swagger UI, served locally, no CDN)",
                "responses": {"200": {**text, "content": {"text/html": {"schema": {"type": "string"}}}}},
            }
        },
    )
    document_route(
        api,
        app,
        "/metrics",
        {
            "get": {
                "tags": ["ops"],
                "summary": "Prometheus metrics (text format 0.0.4), summed over all gunicorn workers",
                "description": (
                    "planner_http_requests_total and planner_http_request_duration_seconds by method, route "
                    "template and status; planner_batch_items_total by item status. No key needed: "
                    "expose it to the scraper, not to the internet."
                ),
                "responses": {"200": {**text, "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }
        },
    )
    document_route(
        api,
        app,
        "/problems/<slug>",
        {
            "get": {
                "tags": ["ops"],
                "summary": "Description of a problem type used in error responses",
                "responses": {
                    "200": {**text, "content": {"application/json": {"schema": {"type": "object"}}}},
                    "404": {"$ref": "#/components/responses/NOT_FOUND"},
                },
            }
        },
    )
