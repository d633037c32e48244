import pytest

pytestmark = pytest.mark.django_db


def assert_error(response, *, status: int, code: str):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details", "request_id"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response["X-Request-ID"]
    return body["error"]


def test_unknown_api_url_is_a_json_404(client):
    assert_error(client.get("/api/v1/no-such-thing/"), status=404, code="not_found")


def test_wrong_method_is_a_json_405(user_client):
    error = assert_error(user_client.delete("/api/v1/me/"), status=405, code="method_not_allowed")
    assert "DELETE" in error["message"]


def test_malformed_json_is_a_json_400(user_client):
    response = user_client.patch("/api/v1/me/", "{not json", content_type="application/json")
    assert_error(response, status=400, code="parse_error")


@pytest.mark.urls("tests.core.urls_boom")
def test_a_crash_in_the_api_is_a_json_500_without_internals(client):
    client.raise_request_exception = False
    error = assert_error(client.get("/api/v1/boom/"), status=500, code="server_error")
    assert "boom" not in error["message"]
    assert error["details"] is None


@pytest.mark.urls("tests.core.urls_boom")
def test_a_crash_in_a_page_is_an_html_500_with_a_reference(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"Something went wrong" in response.content
    assert response["X-Request-ID"].encode() in response.content
    assert b"boom" not in response.content


def test_an_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"Not found" in response.content
