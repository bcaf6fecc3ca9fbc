// An integrator's program, written against the types openapi-typescript generates from openapi.yaml
// (`planner.d.ts`, generated beside it): it plans the README's example, reads every field of the answer,
// and handles a 422. tests/test_clients.py generates the types into a temporary folder and type-checks this
// file with tsc --strict (and exactOptionalPropertyTypes, noUncheckedIndexedAccess): no cast, no `any`.
import type { components, paths } from "./planner";

type PlanRequest = components["schemas"]["PlanRequest"];
type Plans = paths["/v1/plans"]["post"];
type PlanAnswer = Plans["responses"][200]["content"]["application/json"];
type PlanProblem = Plans["responses"][422]["content"]["application/problem+json"];

// The README's example: fields with defaults (cadence, start_date, immunizations...) left out, as it leaves them.
export const readmeRequest: PlanRequest = {
  as_of: "2026-11-24",
  treatment: { drug: "Kesimpta", doses: ["2026-10-20", "2026-10-27", "2026-11-03", "2026-11-17"] },
  vaccines: [{ name: "Shingrix" }, { name: "yellow fever" }],
  horizon_days: 60,
};

export const unknownCode: PlanRequest = { ...readmeRequest, vaccines: [{ cvx: "9999" }] };

export function describe(plan: PlanAnswer): string[] {
  const t = plan.treatment;
  const lines = [
    `${plan.as_of} to ${plan.horizon_end}, ruleset ${plan.ruleset.id} ${plan.ruleset.version}`,
    `${t.drug} ${t.phase} since ${t.start_date}, ${t.cadence}, ${t.doses_given.length} doses given, ` +
      `next ${t.next_dose ?? "none"}, overdue ${t.overdue}, ${t.projected_doses.length} projected, ` +
      `stopped ${t.stopped_on ?? "no"}, earliest start ${t.earliest_start ?? "-"}, label ${t.label}`,
  ];
  for (const v of plan.vaccines) {
    const asked = v.request.name ?? v.request.cvx ?? "?";
    lines.push(
      `${asked}: ${v.vaccine.id} ${v.vaccine.name} (${v.vaccine.product ?? "-"}) cvx ${v.vaccine.cvx ?? "none"} ` +
        `live ${v.vaccine.live} ` +
        `${v.vaccine.route} ${v.status}; delay start to ${v.delay_start_to ?? "-"}; ` +
        `recheck B cells ${v.b_cell_recheck_on ?? "-"}; series ${v.series.given}/${v.series.doses} ` +
        `${v.series.interval_basis}, protective dose ${v.series.protective_dose} + ${v.series.lead_days} days; ` +
        `ready ${v.ready_on ?? "-"} (${v.ready_on_means ?? "-"}) (meets needed_by: ${v.meets_needed_by ?? "-"}; ` +
        `serology advised: ${v.serology_advised}); ` +
        `rules ${v.rules.join(", ")}; ${v.reason}`,
    );
    for (const w of v.windows) lines.push(`  ${w.kind} ${w.start}..${w.end}`);
    for (const p of v.proposed) lines.push(`  dose ${p.dose} on ${p.date}`);
  }
  for (const w of plan.warnings) lines.push(`warning ${w.code}: ${w.message} (${w.rules.join(", ")})`);
  return lines;
}

export function problems(problem: PlanProblem): string[] {
  const lines = [
    `${problem.status} ${problem.title}: ${problem.detail} (${problem.type}, ${problem.instance ?? "-"}, ` +
      `${problem.request_id})`,
  ];
  for (const e of problem.errors ?? []) {
    lines.push(`${e.field} [${e.code}] ${e.message}`);
    for (const c of e.candidates ?? []) {
      lines.push(`  maybe ${c.id} ${c.name} cvx ${c.cvx.join(", ")} live ${c.live ?? "unknown"}`);
    }
  }
  if (problem.errors_omitted !== undefined) lines.push(`and ${problem.errors_omitted} more errors not listed`);
  return lines;
}

export async function planOrProblems(baseUrl: string, key: string, body: PlanRequest): Promise<string[]> {
  const response = await fetch(`${baseUrl}/v1/plans`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  if (response.status === 200) {
    const plan: PlanAnswer = await response.json();
    return describe(plan);
  }
  if (response.status === 422) {
    const problem: PlanProblem = await response.json();
    return problems(problem);
  }
  return [`unexpected status ${response.status}`];
}
