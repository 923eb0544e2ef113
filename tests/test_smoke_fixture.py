def test_home_requires_sign_in(client):
    response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2F"


def test_home_signed_in(client, make_account):
    doctor = make_account(given_name="Alice", family_name="MARTIN")
    client.login(doctor)
    response = client.get("/")
    assert response.status_code == 200
    assert "Dr Alice MARTIN" in response.text
