from fastapi.testclient import TestClient


def test_health(client: TestClient, backend: str) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "protocol": "1"}
