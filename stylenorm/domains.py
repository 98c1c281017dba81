"""The study's domains and their display labels: a leaf module (it imports nothing of the project),
so that anything may name a domain without depending on the config loader or on a component."""
from __future__ import annotations

from typing import Literal

DOMAINS = ("cityscapes", "gta5")
Domain = Literal["cityscapes", "gta5"]
DOMAIN_LABEL = {"cityscapes": "Cityscapes", "gta5": "GTA5"}  # in table titles and column names
