def test_login_and_home(app, make_user, login):
    u = make_user()
    c = login(u)
    r = c.get("/")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert "Welcome" in r.get_data(as_text=True)
