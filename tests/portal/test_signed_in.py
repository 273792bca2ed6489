"""The signed-in user is read afresh on every request (portal/accounts/signed_in.py), without the ORM's loading
but as the ORM would leave it: what an admin changes shows on the user's next page, the user's own changes are
saved, and the firm it comes with reads its whole team."""
from sqlalchemy import select

from core.accounts import Role, User
from portal.accounts.signed_in import load_by_session_token
from tests.conftest import csrf_from


def _edit_user(admin_client, user, **changes):
    page = admin_client.get(f"/admin/users/{user.public_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "email": user.email, "full_name": user.full_name,
            "role": user.role.value, "organisation": "", "locale": user.locale, "active": "y", **changes}
    assert admin_client.post(f"/admin/users/{user.public_id}", data=form).status_code == 302


def test_a_name_changed_by_an_admin_shows_on_the_users_next_page(login, make_user):
    user = make_user(Role.finance)
    c = login(user)
    assert user.full_name in c.get("/").get_data(as_text=True)
    _edit_user(login(make_user(Role.admin)), user, full_name="Renamed Person")
    page = c.get("/").get_data(as_text=True)
    assert "Renamed Person" in page and f">{user.full_name}<" not in page


def test_the_partner_home_lists_the_whole_team_inactive_members_marked(login, make_org, make_user):
    org = make_org()
    admin = make_user(Role.partner_admin, org)
    member = make_user(Role.partner_member, org)
    gone = make_user(Role.partner_member, org, active=False)
    other = make_user(Role.partner_member, make_org())
    home = login(member).get("/").get_data(as_text=True)
    team = home[home.index("Your team"):]
    for person in (admin, member, gone):
        assert person.full_name in team
    assert other.full_name not in home
    assert team.count("inactive") == 1


def test_the_loaded_user_is_the_sessions_own_and_its_firm_reads_every_member(app, session, make_org, make_user):
    org = make_org()
    users = [make_user(Role.partner_admin, org), make_user(Role.partner_member, org),
             make_user(Role.partner_member, org, active=False)]
    token = "token-of-the-test"
    users[0].session_token = token
    session.commit()
    ids, org_id = [u.id for u in users], org.id
    session.expunge_all()

    user = load_by_session_token(session, token)
    assert user.id == ids[0] and user.organisation.id == org_id
    assert session.get(User, user.id) is user, "persistent in the session, like an ORM load"
    assert {u.id for u in user.organisation.users} == set(ids)
    assert not session.dirty and not session.new

    user.locale = "fr"  # a change the user makes is saved with the request's commit
    session.commit()
    session.expunge_all()
    assert session.scalars(select(User.locale).where(User.id == ids[0])).one() == "fr"
    assert load_by_session_token(session, "another-token") is None


def test_an_inactive_account_and_a_service_account_do_not_load_from_a_session(session, make_user):
    inactive = make_user(Role.finance, active=False)
    inactive.session_token = "inactive-token"
    service = make_user(Role.programme_operator)
    service.session_token = "service-token"
    session.commit()
    assert load_by_session_token(session, "inactive-token") is None
    assert load_by_session_token(session, "service-token") is None
