"""Publisher URLs must be http(s); required publisher fields must not be empty."""

from __future__ import annotations

import pytest

from rapid_croissant.errors import ConfigError
from rapid_croissant.writers.croissant import load_publisher_config
from rapid_croissant.writers.publisher_checks import url_problem


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<b>x</b>",
        "ftp://host/x",
        "//host/x",
        "https://",
    ],
)
def test_non_http_urls_are_refused(url):
    assert url_problem(url)


@pytest.mark.parametrize("url", ["https://doi.org/10.5281/zenodo.1", "http://example.org/a?b=c"])
def test_http_urls_are_accepted(url):
    assert url_problem(url) is None


def test_load_publisher_config_names_every_bad_value(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_publisher_config(url="javascript:alert(1)", creator_name=" ", license="file:///x")
    text = str(err.value)
    assert "url: must be an http(s) URL" in text
    assert "creator_name: must not be empty" in text
    assert "license: must be an http(s) URL" in text


def test_line_breaks_in_names_are_refused(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text('creator_name = "A\\n@misc{evil,"\nsame_as = "https://ok.org, javascript:x"\n')
    with pytest.raises(ConfigError, match="creator_name: control characters or line breaks") as err:
        load_publisher_config(config)
    assert "same_as: 'javascript:x'" in str(err.value)


def test_the_packaged_defaults_pass():
    values = load_publisher_config()
    assert values["url"].startswith("https://")
