"""deploy/nginx/spacehpo-dashboard.conf, checked by the real nginx (`nginx -t`) inside a minimal
main config under a temporary prefix, as shipped and with its TLS lines switched on."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from spacehpo.hpo.reports.dashboard_options import DashboardOptions

from tests.conftest import REPO

EXAMPLE = REPO / "deploy" / "nginx" / "spacehpo-dashboard.conf"
TLS_LINE = re.compile(r"^(\s*)# ((listen 443|ssl_|add_header).*)$", re.MULTILINE)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed"),
]


def nginx_test(server_block: Path, prefix: Path) -> subprocess.CompletedProcess:
    main = prefix / "nginx.conf"
    main.write_text(
        f"pid {prefix / 'nginx.pid'};\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {server_block};\n}}\n"
    )
    return subprocess.run(
        ["nginx", "-t", "-p", str(prefix), "-c", str(main), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_example_is_valid_nginx_and_guards_the_default_port(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    r = nginx_test(EXAMPLE, tmp_path)
    assert r.returncode == 0 and "syntax is ok" in r.stderr, r.stderr
    assert f"proxy_pass http://127.0.0.1:{DashboardOptions().port};" in text
    assert "auth_basic_user_file" in text and "htpasswd -c" in text


def test_its_tls_lines_are_valid_once_switched_on(tmp_path: Path) -> None:
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=hpo.example.org", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    tls, switched = TLS_LINE.subn(r"\1\2", EXAMPLE.read_text())
    assert switched == 5
    block = tmp_path / "tls.conf"
    block.write_text(tls.replace("/etc/letsencrypt/live/hpo.example.org/", f"{tmp_path}/"))
    r = nginx_test(block, tmp_path)
    assert r.returncode == 0 and "syntax is ok" in r.stderr, r.stderr
