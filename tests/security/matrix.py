"""The permissions matrix: every route × every HTTP method it accepts × every role (and anonymous) → what happens.

tests/security/test_permissions_matrix.py walks the URLconf and fails for any route missing here, so a new view
cannot ship without a decision on who may use it. Outcomes are what the user gets *from the access rules*, with no
or minimal input: OK means "let through" (the page, a redirect that is not to a login page, or a 4xx about the input
itself such as 400/409), never 401/403/404/405 or a 5xx.

Object-level rules are the OBJECT_CASES below: the same route asked for someone else's object (another technician's
job, offer, complaint or upload; a breach outside a regional manager's provinces).

The Django admin is covered as one block (test_admin_is_staff_only): anonymous users and every non-staff role are sent
to the admin login, the administrator role gets in; inside, Django's model permissions decide (accounts/roles.py).
"""

OK = "ok"
FORBIDDEN = "403"
LOGIN = "login"  # redirected to the login page
NOT_FOUND = "404"
DENIED = "401/403"  # API without credentials: 401 when a key could be presented, else 403

ANONYMOUS, OPERATOR, TECHNICIAN, MANAGER, REGIONAL, REVIEWER, ADMIN = (
    "anonymous",
    "operator",
    "technician",
    "manager",
    "regional_manager",
    "reviewer",
    "admin",
)
ROLES = (ANONYMOUS, OPERATOR, TECHNICIAN, MANAGER, REGIONAL, REVIEWER, ADMIN)
MANAGERS = (MANAGER, REGIONAL)


def everyone() -> dict[str, str]:
    return dict.fromkeys(ROLES, OK)


def only(*allowed: str, anonymous: str = LOGIN, others: str = FORBIDDEN) -> dict[str, str]:
    """The allowed roles (administrators always, as accounts.views.role_required says) get in; others get 403."""
    return {role: OK if role in (*allowed, ADMIN) else anonymous if role == ANONYMOUS else others for role in ROLES}


def api(*allowed: str, admin: str = OK) -> dict[str, str]:
    """A v1 API operation: roles holding its scope (api/permissions.py ROLE_SCOPES) get in; no credentials: 401/403."""
    return {**only(*allowed, anonymous=DENIED), ADMIN: admin}


def not_found_after(*allowed: str) -> dict[str, str]:
    """Allowed roles pass the role check, then find no such object (404); others get 403."""
    return {role: NOT_FOUND if outcome == OK else outcome for role, outcome in only(*allowed).items()}


def same(outcome: str) -> dict[str, str]:
    return dict.fromkeys(ROLES, outcome)


# route name → {method: outcomes}. Kwargs for the route come from URL_KWARGS (tests/security/conftest.py World).
MATRIX: dict[str, dict[str, dict[str, str]]] = {
    # Operations and the language switch
    "healthz": {"GET": everyone()},
    "metrics": {"GET": everyone()},  # METRICS_TOKEN unset here; with it set a bearer token is required
    "set_language": {"GET": everyone(), "POST": everyone()},
    # Customer-facing public pages: no sign-in; the status page answers only to ticket number + last four digits
    # (test_public_status_needs_number_and_last_four_digits), the complaint pages only to a proven ticket.
    "public:request": {"GET": everyone(), "POST": everyone()},
    "public:request-done": {"GET": everyone()},
    "public:status": {"GET": everyone(), "POST": everyone()},
    "public:area-search": {"GET": everyone()},
    "complaint_public:file": {"GET": everyone(), "POST": everyone()},
    "complaint_public:lookup": {"GET": everyone(), "POST": everyone()},
    "complaint_public:ticket": {"GET": same(NOT_FOUND)},  # only after proving the ticket in this session
    "complaint_public:upload": {"POST": same(NOT_FOUND)},
    "complaint_public:appeal": {"POST": same(NOT_FOUND)},
    # Sign-in
    "accounts:home": {"GET": only(*ROLES[1:]), "POST": only(*ROLES[1:])},
    "accounts:login": {"GET": everyone(), "POST": everyone(), "PUT": everyone()},
    "accounts:logout": {"POST": same(LOGIN)},  # everyone ends on the login page
    "accounts:console": {"GET": only(OPERATOR), "POST": only(OPERATOR)},
    "accounts:region-lookup": {"GET": only(OPERATOR)},
    "regions-api:search": {"GET": {**only(OPERATOR, MANAGER, REGIONAL, REVIEWER, anonymous=FORBIDDEN)}},
    # Operator screens. Managers see the board and tickets too; a regional manager only their provinces' (the
    # objects here lie in theirs; tests/dispatch/test_regional_manager_scope.py covers the others).
    "dispatch:console": {"GET": only(OPERATOR), "POST": only(OPERATOR)},
    "dispatch:division-options": {"GET": only(OPERATOR)},
    "dispatch:board": {"GET": only(OPERATOR, *MANAGERS), "POST": only(OPERATOR, *MANAGERS)},
    "dispatch:board-table": {"GET": only(OPERATOR, *MANAGERS)},
    "dispatch:board-on-duty": {"GET": only(OPERATOR, *MANAGERS)},
    "dispatch:ticket": {"GET": only(OPERATOR, *MANAGERS), "POST": only(OPERATOR, *MANAGERS)},
    "dispatch:phone-reveal": {"POST": only(OPERATOR)},
    "dispatch:ticket-dispatch": {"POST": only(OPERATOR)},
    "dispatch:insurance-sell": {"POST": only(OPERATOR)},
    "dispatch:ticket-action": {"POST": only(OPERATOR)},
    # The technician's phone pages: their own jobs, offers and complaints (others: OBJECT_CASES). An administrator
    # without a technician profile gets the "no profile" page.
    "technician:home": {"GET": only(TECHNICIAN)},
    "technician:home-live": {"GET": only(TECHNICIAN)},
    "technician:duty": {"POST": only(TECHNICIAN)},
    "technician:position": {"POST": only(TECHNICIAN)},
    "technician:position-stop": {"POST": only(TECHNICIAN)},
    "technician:offer-accept": {"POST": only(TECHNICIAN)},
    "technician:offer-decline": {"POST": only(TECHNICIAN)},
    "technician:job": {"GET": only(TECHNICIAN)},
    "technician:job-step": {"POST": only(TECHNICIAN)},
    "technician:job-complete": {"GET": only(TECHNICIAN), "POST": only(TECHNICIAN)},
    "technician:job-quote": {"GET": only(TECHNICIAN)},
    "technician:job-insurance": {"POST": only(TECHNICIAN)},
    "technician:complaints": {"GET": only(TECHNICIAN)},
    "technician:complaint": {"GET": only(TECHNICIAN)},
    "technician:complaint-statement": {"POST": only(TECHNICIAN)},
    "technician:complaint-files": {"POST": only(TECHNICIAN)},
    # Photos and recordings: the upload is the job's technician's only (JSON 401 without a session: the phone keeps
    # the file); links are personal and logged (audit.AccessLog).
    "files:upload": {"POST": {**only(TECHNICIAN, anonymous=DENIED), ADMIN: FORBIDDEN}},
    "files:gallery": {"GET": only(OPERATOR, *MANAGERS, REVIEWER)},
    "files:open": {"GET": only(OPERATOR, TECHNICIAN, *MANAGERS, REVIEWER)},
    # Complaint reviewers (and managers): complaints only — every dispatch screen above is 403 for a reviewer.
    "complaints:queue": {"GET": only(REVIEWER, *MANAGERS)},
    "complaints:workspace": {"GET": only(REVIEWER, *MANAGERS)},
    "complaints:acknowledge": {"POST": only(REVIEWER, *MANAGERS)},
    "complaints:decide": {"POST": only(REVIEWER, *MANAGERS)},
    "complaints:request-evidence": {"POST": only(REVIEWER, *MANAGERS)},
    "complaints:reinspect": {"POST": only(REVIEWER, *MANAGERS)},
    # No such request/decision exists: the role check comes first (403), then the lookup (404).
    "complaints:close-request": {"POST": not_found_after(REVIEWER, *MANAGERS)},
    "complaints:approval": {"POST": not_found_after(*MANAGERS)},
    "complaints:evidence-file": {"GET": only(REVIEWER, *MANAGERS)},
    # The stripped display copy is made by the evidence worker; before it exists: 404 once the role check passed.
    "complaints:evidence-display": {"GET": not_found_after(REVIEWER, *MANAGERS)},
    # The pair is not a near-duplicate (no signal names it): 404 once the role check passed.
    "complaints:evidence-difference": {"GET": not_found_after(REVIEWER, *MANAGERS)},
    "complaints:file": {"GET": only(OPERATOR, REVIEWER), "POST": only(OPERATOR, REVIEWER)},
    # The manager's dashboard; a regional manager's pages are limited to their provinces (OBJECT_CASES, and
    # tests/dashboard for the figures).
    "dashboard:home": {"GET": only(*MANAGERS), "POST": only(*MANAGERS)},
    "dashboard:tickets": {"GET": only(*MANAGERS), "POST": only(*MANAGERS)},
    "dashboard:breaches": {"GET": only(*MANAGERS), "POST": only(*MANAGERS)},
    "dashboard:breach-review": {"POST": only(*MANAGERS)},
    "dashboard:technician": {"GET": only(*MANAGERS), "POST": only(*MANAGERS)},
    "dashboard:access-log": {"GET": only(*MANAGERS)},
    # REST API v1 (api/permissions.py ROLE_SCOPES; integration keys are tested in tests/api). Session users here.
    "api:schema": {"GET": everyone()},
    "api:docs": {"GET": everyone()},
    "api:tickets": {"GET": api(OPERATOR, TECHNICIAN, *MANAGERS), "POST": api(OPERATOR)},
    "api:ticket": {"GET": api(OPERATOR, TECHNICIAN, *MANAGERS)},
    **{
        f"api:ticket-{name}": {"POST": api(OPERATOR)}
        for name in ("cancel", "wait", "resume", "offer", "assign", "reassign", "redispatch")
    },
    **{
        # the job's technician's own steps: an operator's or administrator's session may not make them
        f"api:ticket-{name}": {"POST": api(TECHNICIAN, admin=FORBIDDEN)}
        for name in ("respond", "depart", "arrive", "complete")
    },
    # A technician answers their own offer (the route names the offered ticket); anyone else has no offer: 404.
    **{
        f"api:ticket-{name}": {"POST": {**api(TECHNICIAN), OPERATOR: NOT_FOUND, ADMIN: NOT_FOUND}}
        for name in ("accept", "decline")
    },
    "api:complaint-file": {"POST": api(OPERATOR, REVIEWER)},
    "api:complaint": {"GET": api(OPERATOR, *MANAGERS, REVIEWER)},
    "api:customer-lookup": {"GET": api(OPERATOR)},
    "api:regions": {"GET": api(OPERATOR, *MANAGERS, REVIEWER)},
    "api:technicians": {"GET": api(OPERATOR, *MANAGERS)},
    "api:call-incoming": {"POST": api()},  # integrations' keys (calls:write); no person's role holds it
    "api:call-recording": {"POST": {**api(), ADMIN: NOT_FOUND}},  # no such call
    # A forged link: 404 for every signed-in user (a real link is personal, tests/telephony).
    "api:call-recording-open": {"GET": {**same(NOT_FOUND), ANONYMOUS: LOGIN}},
    "api:not-found": {"GET": same(NOT_FOUND), "POST": same(NOT_FOUND)},
}

# Bugs the matrix found in views this module does not own: expected to fail until fixed (strict: a fix shows up).
KNOWN_BUGS: dict[tuple[str, str], str] = {}

# The same route asked for someone else's object: (route, method, which objects, outcomes).
OBJECT_CASES: list[tuple[str, str, str, dict[str, str]]] = [
    ("technician:job", "GET", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:job-step", "POST", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:job-complete", "GET", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:job-quote", "GET", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:job-insurance", "POST", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:offer-accept", "POST", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:offer-decline", "POST", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:complaint", "GET", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:complaint-statement", "POST", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("technician:complaint-files", "POST", "other", {**only(TECHNICIAN), TECHNICIAN: NOT_FOUND}),
    ("files:upload", "POST", "other", {**only(anonymous=DENIED), ADMIN: FORBIDDEN}),
    ("files:open", "GET", "other", {**only(OPERATOR, *MANAGERS, REVIEWER), TECHNICIAN: FORBIDDEN}),
    ("api:ticket-accept", "POST", "other", {**api(), OPERATOR: NOT_FOUND, TECHNICIAN: NOT_FOUND, ADMIN: NOT_FOUND}),
    ("api:ticket-decline", "POST", "other", {**api(), OPERATOR: NOT_FOUND, TECHNICIAN: NOT_FOUND, ADMIN: NOT_FOUND}),
    ("api:ticket-respond", "POST", "other", {**api(admin=FORBIDDEN), TECHNICIAN: NOT_FOUND}),
    ("api:ticket", "GET", "other", {**api(OPERATOR, *MANAGERS), TECHNICIAN: NOT_FOUND}),
    # The regional manager manages 山西; this breach is in 北京.
    ("dashboard:breach-review", "POST", "other", {**only(MANAGER), REGIONAL: FORBIDDEN}),
]
