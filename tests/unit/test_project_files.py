"""The docs and docker-compose.yml stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bulkport.config import Settings

ROOT = Path(__file__).parents[2]


def test_every_setting_is_in_the_operations_settings_table() -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `BULKPORT_([A-Z0-9_]+)` \|", page, flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_compose_file_describes_every_part_of_the_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "beat", "flower"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
    names = ("migrate", "api", "worker", "worker-short", "beat", "flower")
    commands = {name: services[name]["command"] for name in names}
    assert commands["migrate"] == ["bulkport", "migrate"]
    assert commands["worker"] == ["bulkport", "worker", "--queues", "small,large,exports"]
    assert commands["worker-short"] == ["bulkport", "worker", "--queues", "small,exports"]
    assert commands["beat"] == ["bulkport", "beat"]
    # Workers share no disk: job files go to the S3 server every machine reaches.
    env = services["worker"]["environment"]
    assert env["BULKPORT_FILE_STORE"].startswith("s3://")
    assert not any(service.get("volumes") for service in services.values() if "build" in service)
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    env = services["api"]["environment"]
    assert set(env) <= {f"BULKPORT_{name.upper()}" for name in Settings.model_fields}
    assert all("${" not in value or ":?" in value for value in env.values() if "SECRET" in value)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_long_running_service_of_the_compose_file_has_a_health_check() -> None:
    services = compose()["services"]
    one_shot = {"migrate", "bucket"}
    # beat answers nothing it could be asked; the reaper's counts in its log show it works.
    without = {name for name, service in services.items() if "healthcheck" not in service}
    assert without == one_shot | {"beat"}
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command


def test_compose_references_resolve_and_secrets_are_required() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    data = compose()
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    for name, form in re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(:[?-][^}]*)?\}", text):
        # Each variable either has a default or stops compose with a message, and a required
        # one is named in the file's header, where an operator reads what to set.
        assert form, f"${{{name}}} has neither a default nor a required marker"
        if form.startswith(":?"):
            assert name in header, name
    assert "$${" not in text.replace("$$HOSTNAME", "")
    services = data["services"]
    volumes = set(data["volumes"])
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            assert source in volumes, f"{name} mounts unknown volume {source}"
        env = service.get("environment", {})
        bulkport_names = {f"BULKPORT_{field.upper()}" for field in Settings.model_fields}
        assert {key for key in env if key.startswith("BULKPORT_")} <= bulkport_names, name


def test_flower_is_published_on_the_loopback_address_only() -> None:
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            # The API, and MinIO for the presigned download links browsers follow.
            if name not in ("api", "minio"):
                assert str(port).startswith("127.0.0.1:"), (name, port)


def test_the_readme_is_a_short_front_door_whose_links_all_lead_somewhere() -> None:
    readme = ROOT / "README.md"
    assert readme.stat().st_size < 10 * 1024
    text = readme.read_text()
    assert text.index("## Two commands") < text.index("## Quickstart") < 3000 + text.index("## Two")
    for page in [readme, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
