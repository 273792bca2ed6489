"""Deny by default: every endpoint declares who may use it, and a firm never sees another firm's records."""
import pytest
from flask import Flask

from core.accounts import PartnerStatus, Role
from portal.security.access import Access, access_for, allow, enforce_access

PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.logout", "auth.forgot_password", "auth.reset_password",
                    "home.set_language", "home.healthz", "api.openapi", "onboarding.apply", "onboarding.applied",
                    "verification.verify_page", "api.agreement_verify",
                    "payments.stripe_webhook", "volunteer.open_link", "complaints.lodge", "complaints.lodged",
                    "channel.client_page", "channel.client_upload", "channel.client_answers",
                    "broker_disclosure.receipt", "campaign_links.pixel", "campaign_links.click",
                    "campaign_links.unsubscribe"}


def _sample_url(rule):
    return rule.build({arg: "0" * 32 for arg in rule.arguments} | {"filename": "portal.css"})[1]


def test_every_endpoint_declares_its_access(app):
    missing = [r.endpoint for r in app.url_map.iter_rules() if access_for(app, r.endpoint) is None]
    assert missing == []


def test_only_the_expected_endpoints_are_public(app):
    public = {r.endpoint for r in app.url_map.iter_rules() if access_for(app, r.endpoint).public}
    # logout is "signed in", not public; it is in the list above only to be reachable when signed out
    assert public == PUBLIC_ENDPOINTS - {"auth.logout"}


def test_anonymous_visitors_are_turned_away_from_every_non_public_endpoint(app, client):
    for rule in app.url_map.iter_rules():
        if access_for(app, rule.endpoint).public:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        url = _sample_url(rule)
        response = client.open(url, method=method, headers={"Accept": "application/json"})
        if rule.endpoint.startswith("api."):
            assert response.status_code == 401, url
            assert response.get_json()["error"]["code"] == "unauthenticated"
        elif access_for(app, rule.endpoint).volunteer:
            # a volunteer's area opens from their personal link, not from the sign-in page
            assert response.status_code in ((400, 403) if method == "POST" else (403,)), url
        elif method == "POST":
            # CSRF refuses it first (400) or sign-in is required (302): never processed
            assert response.status_code in (302, 400), url
        else:
            assert response.status_code == 302 and "/login" in response.location, url


def test_an_undeclared_endpoint_is_refused(app, make_user, login):
    """A route added without a declaration answers 403 to everyone, even an administrator."""
    test_app = Flask("undeclared")
    test_app.add_url_rule("/secret", "secret", lambda: "secret")
    with test_app.test_request_context("/secret"):
        from werkzeug.exceptions import Forbidden

        with pytest.raises(Forbidden):
            enforce_access()


def test_allow_needs_real_roles():
    with pytest.raises(TypeError):
        allow("admin")


def test_status_limits_apply_to_partner_roles(make_org, make_user):
    access = Access(roles=frozenset({Role.partner_admin}), statuses=frozenset({PartnerStatus.specialist_broker}))
    assert access.permits(make_user(Role.partner_admin, make_org(PartnerStatus.specialist_broker)))
    assert not access.permits(make_user(Role.partner_admin, make_org(PartnerStatus.introducer)))
    assert not access.permits(make_user(Role.admin))


STAFF_ONLY = ["/admin/organisations", "/admin/users", "/admin/audit", "/admin/outbox"]


@pytest.mark.parametrize("role", [Role.partner_admin, Role.partner_member])
def test_partners_cannot_open_staff_pages(role, make_org, make_user, login):
    c = login(make_user(role, make_org()))
    for url in STAFF_ONLY:
        assert c.get(url).status_code == 403, url


@pytest.mark.parametrize("role,visible,hidden", [
    (Role.admin, ["Partner firms", "Users", "Audit log", "Outbox"], ["My firm"]),
    (Role.compliance, ["Partner firms", "Audit log"], ["Users", "Outbox", "My firm"]),
    (Role.finance, ["Partner firms"], ["Users", "Audit log", "Outbox", "My firm"]),
    (Role.partner_admin, ["My firm"], ["Partner firms", "Users", "Audit log", "Outbox"]),
    (Role.volunteer, ["API tokens"], ["Partner firms", "Users", "My firm", "Audit log"]),
])
def test_navigation_shows_only_what_the_role_may_open(role, visible, hidden, make_org, make_user, login):
    org = make_org() if role is Role.partner_admin else None
    html = login(make_user(role, org)).get("/").get_data(as_text=True)
    nav = html.split('class="mainnav"')[1].split("</nav>")[0]
    for label in visible:
        assert f">{label}</a>" in nav, label
    for label in hidden:
        assert f">{label}</a>" not in nav, label


def test_firm_a_gets_404_for_firm_b_users(make_org, make_user, login):
    firm_a, firm_b = make_org(), make_org()
    admin_a = make_user(Role.partner_admin, firm_a)
    colleague = make_user(Role.partner_member, firm_a)
    outsider = make_user(Role.partner_member, firm_b)
    c = login(admin_a)
    assert c.get(f"/firm/members/{colleague.public_id}").status_code == 200
    assert c.get(f"/firm/members/{outsider.public_id}").status_code == 404
    team = c.get("/firm/").get_data(as_text=True)
    assert colleague.email in team and outsider.email not in team
    from tests.conftest import csrf_from

    token = csrf_from(team)
    r = c.post(f"/firm/members/{outsider.public_id}/password-link", data={"csrf_token": token})
    assert r.status_code == 404


def test_partner_member_cannot_manage_the_team(make_org, make_user, login):
    firm = make_org()
    member = make_user(Role.partner_member, firm)
    colleague = make_user(Role.partner_admin, firm)
    c = login(member)
    assert c.get("/firm/").status_code == 200
    assert c.get("/firm/members/new").status_code == 403
    assert c.get(f"/firm/members/{colleague.public_id}").status_code == 403


def test_urls_use_opaque_ids(app):
    for rule in app.url_map.iter_rules():
        for arg in rule.arguments:
            # file_ref: the programme operator's own reference of a volunteer (the roster's key), not one of ours
            assert arg.endswith("public_id") or arg in ("token", "filename", "file_ref"), f"{rule.rule} exposes {arg}"


# --- the route × role walk, web pages and /api/v1 alike -------------------------------------------------------

WALKERS = {
    "admin": (Role.admin, None), "compliance": (Role.compliance, None), "finance": (Role.finance, None),
    "account_manager": (Role.account_manager, None),
    "specialist_admin": (Role.partner_admin, PartnerStatus.specialist_broker),
    "generalist_member": (Role.partner_member, PartnerStatus.generalist_broker),
    "introducer_admin": (Role.partner_admin, PartnerStatus.introducer),
    "introducer_member": (Role.partner_member, PartnerStatus.introducer),
    "volunteer": (Role.volunteer, None), "programme_operator": (Role.programme_operator, None),
}
#: a web page and the API endpoint that read the same records: they must let in exactly the same people
SAME_RECORDS = [("leads.index", "api.lead_list"), ("leads.view", "api.lead_get"), ("leads.new", "api.lead_create"),
                ("cases.index", "api.case_list"), ("cases.view", "api.case_get"),
                ("cases.view", "api.case_milestones"), ("cases.new", "api.case_create"),
                ("agreements.index", "api.agreements"), ("agreements.document", "api.agreement_pdf"),
                ("statements.view", "api.statement_get"), ("finance.payout_runs", "api.payout_run_list"),
                ("finance.payout_run", "api.payout_run_get"), ("finance.payout_run_pain001", "api.payout_run_pain001")]


def _walk_api(app, user, bearer):
    """{endpoint: let in?} for every non-public API route, asserting each refusal is a 403 in the error shape."""
    let_in = {}
    for rule in app.url_map.iter_rules():
        access = access_for(app, rule.endpoint)
        if not rule.endpoint.startswith("api.") or access.public:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = app.test_client().open(_sample_url(rule), method=method, headers=bearer)
            refused = response.status_code in (401, 403)
            assert refused is not access.permits(user), (rule.rule, method, response.status_code)
            if refused:
                assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
            let_in[rule.endpoint] = not refused
    return let_in


def _walk_web(app, user, client):
    """{endpoint: let in?} for every non-public web route; a refused POST is tried too (it changes nothing)."""
    from tests.conftest import csrf_from

    csrf = csrf_from(client.get("/me/").get_data(as_text=True)) if client else None
    let_in = {}
    for rule in app.url_map.iter_rules():
        access = access_for(app, rule.endpoint)
        if rule.endpoint.startswith("api.") or access.public:
            continue
        permitted = client is not None and access.permits(user)
        if "GET" in rule.methods and client is not None:
            response = client.get(_sample_url(rule))
            refused = response.status_code == 403 or "/login" in (response.location or "")
            assert refused is not permitted, (rule.rule, response.status_code)
        elif not permitted and client is not None:
            assert client.post(_sample_url(rule), data={"csrf_token": csrf}).status_code == 403, rule.rule
        let_in[rule.endpoint] = permitted
    return let_in


@pytest.mark.parametrize("walker", list(WALKERS))
def test_every_route_answers_every_role_as_declared_and_the_api_agrees_with_the_web(
        walker, app, session, make_org, make_user, login):
    from portal.accounts.operations import create_api_token

    role, status = WALKERS[walker]
    user = make_user(role, make_org(status) if status else None)
    _token, raw = create_api_token(session, user, "walk")
    session.commit()
    api = _walk_api(app, user, {"Authorization": f"Bearer {raw}"})
    # a service account never gets a web session: it is let into no page at all
    web = _walk_web(app, user, None if user.api_only else login(user))
    for page, endpoint in SAME_RECORDS:
        assert web[page] == api[endpoint], f"{walker}: {page} says {web[page]}, {endpoint} says {api[endpoint]}"
    # the programme operator's service account: the roster endpoints, and nothing else anywhere
    roster = {endpoint for endpoint, let_in in api.items() if let_in and endpoint in ROSTER_ENDPOINTS}
    assert roster == (ROSTER_ENDPOINTS if role is Role.programme_operator else set()), walker
    # the volunteers' subscriptions: the broker's staff read them; administrators and account managers send links;
    # administrators and finance record cheques
    subscriptions = {endpoint for endpoint, let_in in web.items() if let_in and endpoint.startswith("subscriptions.")}
    readers = {Role.admin, Role.account_manager, Role.finance, Role.compliance}
    assert subscriptions == ((SUBSCRIPTION_PAGES | ({"subscriptions.send_link"} if role in
                                                    (Role.admin, Role.account_manager) else set())
                              | ({"subscriptions.record_cheque", "subscriptions.record_refund_made"}
                                 if role in (Role.admin, Role.finance) else set()))
                             if role in readers else set()), walker
    if role is Role.programme_operator:
        assert {endpoint for endpoint, let_in in api.items() if let_in} == ROSTER_ENDPOINTS
        assert not any(web.values())


#: the roster feed: the programme operator's token only
ROSTER_ENDPOINTS = {"api.volunteer_batch", "api.volunteer_get"}
#: the staff's subscriptions screens (and the unpaid premiums), read by administrators, account managers, finance and
#: compliance
SUBSCRIPTION_PAGES = {"subscriptions.index", "subscriptions.view", "subscriptions.adhesion_pdf",
                      "subscriptions.volunteer", "subscriptions.overdue"}


def test_a_long_menu_comes_in_groups_a_short_one_stays_flat(make_org, make_user, login):
    admin = login(make_user(Role.admin)).get("/").get_data(as_text=True)
    nav = admin.split('class="mainnav"')[1].split("</nav>")[0]
    assert "<summary>Administration</summary>" in nav and "<summary>Compliance</summary>" in nav
    administration = nav.split("<summary>Administration</summary>")[1].split("</details>")[0]
    assert ">Users</a>" in administration and ">Outbox</a>" in administration and ">Cases</a>" not in administration
    volunteer = login(make_user(Role.volunteer)).get("/").get_data(as_text=True)
    assert "<summary>" not in volunteer.split('class="mainnav"')[1].split("</nav>")[0]


def test_no_field_attribute_says_none(make_user, login):
    """An absent hint or error leaves aria-describedby and aria-invalid out, rather than naming "None"."""
    page = login(make_user(Role.partner_admin)).get("/me/tokens").get_data(as_text=True)
    assert "<input" in page and '="None"' not in page
