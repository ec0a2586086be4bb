"""The README and docker-compose.yml stay true to the code."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bulkport.config import Settings

ROOT = Path(__file__).parents[2]


def test_every_setting_is_in_the_readme_configuration_table() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `BULKPORT_([A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_compose_file_describes_every_part_of_the_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "beat", "flower"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
    names = ("migrate", "api", "worker", "beat", "flower")
    commands = {name: services[name]["command"] for name in names}
    assert commands["migrate"] == ["bulkport", "migrate"]
    assert commands["worker"] == ["bulkport", "worker"]
    assert commands["beat"] == ["bulkport", "beat"]
    assert services["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    env = services["api"]["environment"]
    assert set(env) <= {f"BULKPORT_{name.upper()}" for name in Settings.model_fields}
    assert all("${" not in value or ":?" in value for value in env.values() if "SECRET" in value)
