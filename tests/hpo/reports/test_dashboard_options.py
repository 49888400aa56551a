"""`spacehpo dashboard`'s options, because a bad flag must stop the command with one line naming
it before any storage opens, and an IPv6 host must still make a valid address."""

import pytest
from spacehpo.hpo.core.errors import HpoError
from spacehpo.hpo.reports.dashboard_options import BUILTIN, GUNICORN, DashboardOptions


@pytest.mark.parametrize(
    ("options", "flag"),
    [
        ({"server": "uwsgi"}, "--server uwsgi"),
        ({"server": GUNICORN, "workers": 0}, "--workers 0"),
        ({"server": BUILTIN, "workers": 2}, "--workers 2"),
        ({"port": 0}, "--port 0"),
        ({"port": 65536}, "--port 65536"),
    ],
)
def test_a_bad_option_is_one_line_naming_its_flag(options: dict, flag: str) -> None:
    with pytest.raises(HpoError) as err:
        DashboardOptions(**options)
    message = str(err.value)
    assert message.startswith(f"{flag}: ") and "\n" not in message


def test_the_edges_of_the_range_are_accepted() -> None:
    assert DashboardOptions(port=1).port == 1 and DashboardOptions(port=65535).port == 65535
    assert DashboardOptions(GUNICORN, workers=1).workers == 1
    assert DashboardOptions(GUNICORN, workers=8).workers == 8


def test_bind_and_url_bracket_an_ipv6_host() -> None:
    assert DashboardOptions(host="::1", port=9000).bind == "[::1]:9000"
    assert DashboardOptions(host="::", port=80).url == "http://[::]:80/"
    assert DashboardOptions(host="0.0.0.0", port=8080).bind == "0.0.0.0:8080"
    assert DashboardOptions().url == "http://127.0.0.1:8080/"
