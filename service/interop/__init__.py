"""Translation between the planner's REST plan and the formats other systems speak.

FHIR R4 (an operation on a Parameters resource), CDS Hooks 2.0 cards and iCalendar are front ends on the
same planner: each one translates its input into a REST plan-request body, answers it through
`service.planning.Planner.plan_json` (the one path with the rules behind it), and translates the answer back.
Nothing in this package decides a date or a status.
"""
