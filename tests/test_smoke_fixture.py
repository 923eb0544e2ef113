def test_home_requires_sign_in(client):
    response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 303
    # To the portal's own provider, as any relying party's browser; the provider then asks for the sign-in.
    assert response.headers["location"].startswith("/authorize?client_id=bouquet-portal&")
    assert client.get(response.headers["location"]).headers["location"].startswith("/login?next=%2Fauthorize%3F")


def test_home_signed_in(client, make_account):
    doctor = make_account(given_name="Alice", family_name="MARTIN")
    client.login(doctor)
    response = client.get("/")
    assert response.status_code == 200
    assert "Dr Alice MARTIN" in response.text
