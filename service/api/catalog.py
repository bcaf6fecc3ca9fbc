"""The catalog and therapy routes: what the planner knows, and where each rule comes from."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from service.contract.schemas import (
    CatalogEntrySchema,
    CatalogQuerySchema,
    CatalogSchema,
    RuleListSchema,
    TherapyListSchema,
)
from service.domain.catalog import Vaccine

from .blueprint import Blueprint
from .problems import requires_api_key

blp = Blueprint("catalog", __name__, url_prefix="/v1", description="The vaccine catalog and supported therapies.")


def entry_json(v: Vaccine) -> dict[str, Any]:
    return {
        "id": v.id,
        "name": v.name,
        "cvx": list(v.cvx),
        "live": v.live,
        "route": v.route,
        "antigens": list(v.antigens),
        "names": list(v.names),
        "products": [{"name": p.name, "cvx": p.cvx, "names": [p.name, *p.aliases]} for p in v.products],
        "source": v.source,
        "note": v.note,
    }


@blp.route("/vaccines")
class Vaccines(MethodView):
    @blp.doc(
        operationId="listVaccines",
        summary="List the vaccine catalog",
        description=(
            "Every catalog entry with its CVX codes, live status, route, antigens and the names it answers to, "
            "filtered by `live` and by text (`q`); and the unspecified codes and names that the planner refuses "
            "with candidates, because they do not say whether the product is live."
        ),
    )
    @blp.arguments(CatalogQuerySchema, location="query", as_kwargs=True)
    @blp.response(200, CatalogSchema)
    @requires_api_key(blp)
    def get(self, live: bool | None = None, q: str | None = None) -> dict[str, Any]:
        ruleset = current_app.extensions["planner"].ruleset
        catalog = ruleset.catalog
        found = catalog.search(q=q, live=live)
        return {
            "catalog_version": catalog.version,
            "count": len(found),
            "vaccines": [entry_json(v) for v in found],
            "unspecified": [
                {
                    "cvx": u.cvx,
                    "name": u.name,
                    "names": [u.name, *u.aliases],
                    "candidates": list(u.candidates),
                    "note": u.note,
                }
                for u in catalog.unspecified
            ],
            "sources": ruleset.catalog_raw.get("sources", {}),
        }


@blp.route("/vaccines/<string:vaccine_id>")
class VaccineById(MethodView):
    @blp.doc(
        operationId="getVaccine",
        summary="One catalog entry",
        description="The catalog entry with this id (the `id` of an entry of GET /v1/vaccines), or 404.",
    )
    @blp.response(200, CatalogEntrySchema)
    @blp.alt_response(404, response="NOT_FOUND")
    @requires_api_key(blp)
    def get(self, vaccine_id: str) -> dict[str, Any]:
        vaccine = current_app.extensions["planner"].ruleset.catalog.get(vaccine_id)
        if vaccine is None:
            abort(404, message=f"No catalog entry has the id {vaccine_id!r}; GET /v1/vaccines lists them.")
        return entry_json(vaccine)


@blp.route("/therapies")
class TherapyList(MethodView):
    @blp.doc(
        operationId="listTherapies",
        summary="Supported therapies with their schedule and vaccine rules",
        description=(
            "Each therapy profile: names (generic, brands, biosimilars), kind, the labels whose rules it encodes, "
            "ruleset version, dosing schedule and cadences, the day counts the vaccine windows use (by label where "
            "the labels differ), and the rules behind them with their sources."
        ),
    )
    @blp.response(200, TherapyListSchema)
    @requires_api_key(blp)
    def get(self) -> dict[str, Any]:
        therapies = current_app.extensions["planner"].ruleset.therapies
        out = []
        for p in therapies.profiles:
            out.append(
                {
                    "id": p.id,
                    "name": p.name,
                    "brand_names": list(p.brand_names),
                    "names": list(p.names),
                    "kind": p.kind,
                    "labels": list(p.labels),
                    "ruleset_version": therapies.versions[p.id],
                    "schedule": {
                        "text": p.schedule_text,
                        "starter_gaps_days": list(p.starter_gaps),
                        "starter_doses": p.starter_doses,
                        "starter_tolerance_days": p.starter_tolerance_days,
                        "maintenance_from_first_dose": p.maintenance_from_first_dose,
                        "default_cadence": p.default_cadence,
                        "default_cadence_by_label": dict(p.default_cadence_by_label),
                        "cadences": {
                            c.name: {"days": c.days, "months": c.months, "description": c.description}
                            for c in p.cadences.values()
                        },
                    },
                    "vaccine_timing": {
                        "live_pre_start_days": p.live_pre_start_days,
                        "non_live_pre_start_days": p.non_live_pre_start_days,
                        "by_label": {label: dict(figures) for label, figures in p.by_label.items()},
                        "mid_cycle": asdict(p.mid_cycle),
                        "post_therapy_after_last_dose_days": p.post_therapy_after_last_dose_days,
                        "b_cell_recheck_days": p.b_cell_recheck_days,
                        "b_cell_recheck_text": p.b_cell_recheck_text,
                        "b_cell_consensus_days": p.b_cell_consensus_days,
                        "repletion_min_days_after_last_dose": p.repletion_min_days_after_last_dose,
                    },
                    "rules": [{"role": role, **asdict(rule)} for role, rule in p.rules.items()],
                }
            )
        return {"therapies": out}


@blp.route("/rules")
class Rules(MethodView):
    @blp.doc(
        operationId="listRules",
        summary="Every rule a plan can cite, with its evidence level, source and citation",
        description=(
            "The rules of every therapy profile and the vaccine rules that apply whatever the therapy; the ids in "
            "a plan's `rules` lists are all here."
        ),
    )
    @blp.response(200, RuleListSchema)
    @requires_api_key(blp)
    def get(self) -> dict[str, Any]:
        ruleset = current_app.extensions["planner"].ruleset
        return {
            "ruleset": dict(ruleset.therapies.versions),
            "rules": [{"group": group, **asdict(rule)} for group, rule in ruleset.all_rules()],
        }
