"""Operations routes: liveness, readiness, metrics, the published contract, offline docs, problem types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import flask_swagger_ui
import yaml
from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, render_template, send_from_directory
from flask.views import MethodView
from flask_smorest import abort

from service import NATIVE
from service.contract.schemas import CADENCE_PATTERN, HealthSchema, ReadySchema

from .blueprint import Blueprint
from .problems import PROBLEM_TYPES

blp = Blueprint("ops", __name__, description="Health, readiness and the API description.")
# Routes that are not part of the API itself (documentation pages and assets) stay out of the spec.
docs = FlaskBlueprint(
    "docs", __name__, template_folder="templates", static_folder="static", static_url_path="/docs/static"
)
SWAGGER_UI_DIST = Path(flask_swagger_ui.__file__).resolve().parent / "dist"


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(
        operationId="getHealth",
        summary="Liveness: the process answers",
        description="200 while the process can answer requests; needs no key.",
        security=[],
    )
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.doc(
        operationId="getReadiness",
        summary="Readiness: catalog and rules are loaded",
        description="200 with the ruleset and catalog versions once the data is loaded, 503 before; needs no key.",
        security=[],
    )
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
            # Half the speed without it: an operator sees here which core this instance runs.
            "rules_core": "compiled" if NATIVE else "pure_python",
            "metrics": current_app.extensions["metrics"].state(),
        }


def spec_dict() -> dict[str, Any]:
    """The OpenAPI document as the running code describes it (the file at the repo root must equal it)."""
    spec: dict[str, Any] = current_app.extensions["problem_api"].spec.to_dict()
    return spec


class _NoAliasDumper(yaml.SafeDumper):
    """Writes a part used twice in full each time: YAML anchors (&id001) confuse readers and some tools."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def spec_yaml() -> str:
    return yaml.dump(spec_dict(), Dumper=_NoAliasDumper, sort_keys=False, allow_unicode=True, width=110)


@docs.get("/openapi.yaml")
def openapi_yaml() -> Response:
    # Written once per app: the document cannot change while the app runs, and writing it takes 125-180 ms.
    cached = current_app.extensions.get("openapi_yaml")
    if cached is None:
        cached = current_app.extensions["openapi_yaml"] = spec_yaml()
    return Response(cached, mimetype="application/yaml")


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


REQUEST_ID_DOC = (
    "An id for this request, echoed in the response, in every log line and in every problem document. Sent by "
    "the client (letters, digits and . _ : -, at most 128 characters; anything else is replaced), or generated."
)


def refine_schemas(api: Any, cadences: dict[str, list[str]]) -> None:
    """`cadences`: each loaded therapy's cadence names, by therapy name (for the Cadence component's text)."""
    """State in the document what marshmallow checks in code and apispec cannot translate, and what every
    operation shares. Found by the contract fuzzing and by generating clients: requests the document allowed
    (both name and cvx; a dose in the year 0169) were refused for their shape; the cadence enum came out once
    per use, each a separate type in a generated client."""
    spec = api.spec
    components = spec.components.schemas
    spec.components.schemas.pop("PaginationMetadata", None)  # flask-smorest's, for pagination this API has not
    # Exactly one of name or cvx: two named shapes, so that a generated client types a vaccine as one or the
    # other (a oneOf of bare `required` lists came out as `Any`).
    for name, what, description in (
        ("VaccineRequest", "Vaccine", "A vaccine to plan."),
        ("Immunization", "Immunization", "A vaccine already given."),
    ):
        split_name_or_cvx(spec, name, what, description)
    spec.components.schema(
        "Cadence",
        {
            "type": "string",
            "pattern": CADENCE_PATTERN,
            "description": "Maintenance cadence: one the therapy lists (GET /v1/therapies), else 422 naming "
            "treatment.cadence and the therapy's values. "
            + "; ".join(f"{drug}: {', '.join(names)}" for drug, names in cadences.items())
            + ".",
        },
    )
    cadence = {"$ref": "#/components/schemas/Cadence"}
    components["Treatment"]["properties"]["cadence"] = {
        "type": "string",
        "allOf": [cadence],
        "nullable": True,
        "description": "Maintenance cadence (default: the therapy's own, GET /v1/therapies default_cadence).",
    }
    components["TreatmentOut"]["properties"]["cadence"] = {
        "allOf": [cadence],
        "description": "Maintenance cadence used.",
    }
    # A batch item is a plan request as POST /v1/plans takes it. The envelope is checked as an array of objects
    # only, so that one bad item cannot fail the others: its own problems come back in its result (422).
    items = components["BatchRequest"]["properties"]["requests"]["items"]
    components["BatchRequest"]["properties"]["requests"]["items"] = {
        "allOf": [{"$ref": "#/components/schemas/PlanRequest"}],
        "description": items.get("description", ""),
    }
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "string" and node.get("format") == "date":
                node["pattern"] = REQUEST_DATE_PATTERN
            if "default" in node:
                # A request field with a default is optional, and a generator must type it so: openapi-typescript
                # makes a field with a `default` required (right for answers, wrong for requests). So the default
                # is said in words.
                default = node.pop("default")
                text = node.get("description", "")
                if "default" not in text.lower():
                    node["description"] = f"{text} Default: {json.dumps(default)}.".strip()
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
    document_request_id(api)


def split_name_or_cvx(spec: Any, name: str, what: str, description: str) -> None:
    """Replace the component `name` (a NameOrCvxSchema) by <what>ByName and <what>ByCvx, each forbidding the
    other key, and every use of it by a oneOf of the two."""
    components = spec.components.schemas
    base = components.pop(name)
    for key, other, variant in (("name", "cvx", "ByName"), ("cvx", "name", "ByCvx")):
        components[what + variant] = {
            "type": "object",
            "description": f"{description} Named by its {key} (exactly one of name or cvx).",
            "properties": {k: v for k, v in base["properties"].items() if k != other},
            "required": [key, *[r for r in base.get("required", []) if r not in (key, other)]],
            "additionalProperties": False,
        }
    one_of = {"oneOf": [{"$ref": f"#/components/schemas/{what}ByName"}, {"$ref": f"#/components/schemas/{what}ByCvx"}]}

    def replace(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, dict) and value.get("$ref") == f"#/components/schemas/{name}":
                    node[key] = dict(one_of)
                else:
                    replace(value)
        elif isinstance(node, list):
            for value in node:
                replace(value)

    replace(components)


def document_request_id(api: Any) -> None:
    """X-Request-ID on every operation (an optional request header) and every response (always sent)."""
    spec = api.spec
    spec.components.parameter(
        "RequestId",
        "header",
        {"name": "X-Request-ID", "required": False, "schema": {"type": "string"}, "description": REQUEST_ID_DOC},
    )
    header = {"description": REQUEST_ID_DOC, "schema": {"type": "string"}, "required": True}
    spec.components.header("RequestId", header)
    header_ref = {"$ref": "#/components/headers/RequestId"}
    paths = spec._paths  # apispec keeps the paths here; they are complete once every route is registered
    for operations in paths.values():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            operation.setdefault("parameters", []).append({"$ref": "#/components/parameters/RequestId"})
            for response in operation["responses"].values():
                if isinstance(response, dict) and "$ref" not in response:
                    response.setdefault("headers", {})["X-Request-ID"] = header_ref
    for response in spec.components.responses.values():
        response.setdefault("headers", {})["X-Request-ID"] = header_ref


def document_route(api: Any, app: Any, rule: str, operations: dict[str, Any]) -> None:
    """Describe a route served outside flask-smorest (plain Flask view) in the OpenAPI document."""
    api.spec.path(rule=next(r for r in app.url_map.iter_rules() if r.rule == rule), operations=operations)


def _plain_get(operation_id: str, summary: str, description: str, media: str, schema_type: str) -> dict[str, Any]:
    """A GET served outside flask-smorest, with no key and one 200 body of `media`."""
    content = {media: {"schema": {"type": schema_type}}}
    return {
        "get": {
            "tags": ["ops"],
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "security": [],
            "responses": {"200": {"description": "OK", "content": content}},
        }
    }


# The plain routes' paths and operations, in the order the document lists them.
_PLAIN_GETS = (
    (
        "/openapi.yaml",
        _plain_get(
            "getOpenApiYaml",
            "This OpenAPI document, as YAML",
            "The document this service answers by, byte for byte the openapi.yaml it ships with.",
            "application/yaml",
            "object",
        ),
    ),
    (
        "/openapi.json",
        _plain_get(
            "getOpenApiJson",
            "This OpenAPI document, as JSON",
            "The same document as GET /openapi.yaml, as JSON.",
            "application/json",
            "object",
        ),
    ),
    (
        "/docs",
        _plain_get(
            "getDocsPage",
            "Interactive documentation (Swagger UI, served locally, no CDN)",
            "An HTML page that renders this document and can send requests to this server.",
            "text/html",
            "string",
        ),
    ),
    (
        "/metrics",
        {
            "get": {
                "tags": ["ops"],
                "operationId": "getMetrics",
                "summary": "Prometheus metrics (text format 0.0.4), summed over all gunicorn workers",
                "security": [],
                "description": (
                    "planner_http_requests_total and planner_http_request_duration_seconds by method, route "
                    "template and status; planner_batch_items_total by item status. No key needed: "
                    "expose it to the scraper, not to the internet."
                ),
                "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }
        },
    ),
)


def document_plain_routes(api: Any, app: Any) -> None:
    """Describe the routes served outside flask-smorest, so that openapi.yaml lists every public path."""
    for path, operations in _PLAIN_GETS:
        document_route(api, app, path, operations)
    text = {"description": "OK"}
    document_route(
        api,
        app,
        "/problems/<slug>",
        {
            "get": {
                "tags": ["ops"],
                "operationId": "getProblemType",
                "summary": "Description of a problem type used in error responses",
                "description": "What a problem document's `type` (/problems/<slug>) means; 404 for a slug not in use.",
                "security": [],
                "parameters": [
                    {
                        "name": "slug",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": list(PROBLEM_TYPES)},
                    }
                ],
                "responses": {
                    "200": {
                        **text,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "type": {"type": "string", "example": "/problems/invalid-input"},
                                        "title": {"type": "string"},
                                        "description": {"type": "string"},
                                    },
                                    "required": ["type", "title", "description"],
                                    "additionalProperties": False,
                                }
                            }
                        },
                    },
                    "404": {"$ref": "#/components/responses/NOT_FOUND"},
                },
            }
        },
    )
