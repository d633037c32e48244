import re
from pathlib import Path

from django.conf import settings


def test_env_example_lists_every_variable_the_settings_read():
    source = (Path(settings.BASE_DIR) / "healthhub" / "settings.py").read_text()
    read = set(re.findall(r'env\.(?:str|bool|int|list|db)\(\s*"([A-Z_]+)"', source))
    example = (Path(settings.BASE_DIR) / ".env.example").read_text()
    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    assert read, "the pattern found no variables: update this test"
    assert read - listed == set()
