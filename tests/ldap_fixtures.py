"""A real OpenLDAP server for the tests: Debian's slapd in a temporary directory, on free loopback ports.

One server per test session (per xdist worker), with a generated slapd.conf (mdb database,
the stock schemas), a CA and a server certificate for 127.0.0.1 (StartTLS and LDAPS), and an
LDIF of people and nested groups loaded with slapadd before it starts:

    cn=s3-admins  ⊃ cn=platform ⊃ grace      (nested: grace is in s3-admins through platform)
    cn=ops        ⊃ linus
    cn=marketing  ⊃ mallory                  (mapped to nothing)
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import ldap
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.oidc_fixtures import free_port

SLAPD = "/usr/sbin/slapd"
BASE = "dc=example,dc=org"
ROOT_DN, ROOT_PW = f"cn=admin,{BASE}", "root-secret-123"
NOBODY = f"cn=nobody,{BASE}"
SERVICE_DN, SERVICE_PW = f"cn=console,ou=services,{BASE}", "service-secret-123"
PASSWORDS = {"grace": "grace-password-1", "linus": "linus-password-1", "mallory": "mallory-password-1"}


def _person(uid: str, given: str, family: str) -> str:
    return f"""dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
uid: {uid}
cn: {given} {family}
givenName: {given}
sn: {family}
mail: {uid}@example.org
userPassword: {PASSWORDS[uid]}
"""


def _group(cn: str, *members: str) -> str:
    lines = "".join(f"member: {m}\n" for m in members)
    return f"dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}"


def directory_ldif() -> str:
    people = f"ou=people,{BASE}"
    entries = [
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n",
        f"dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n",
        f"dn: ou=services,{BASE}\nobjectClass: organizationalUnit\nou: services\n",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: console\nuserPassword: {SERVICE_PW}\n",
        _person("grace", "Grace", "Hopper"),
        _person("linus", "Linus", "Torvalds"),
        _person("mallory", "Mallory", "Mallet"),
        _group("platform", f"uid=grace,{people}"),
        _group("s3-admins", f"cn=platform,ou=groups,{BASE}"),
        _group("ops", f"uid=linus,{people}"),
        _group("marketing", f"uid=mallory,{people}"),
    ]
    return "\n".join(entries)


def make_ca(directory: Path, name: str) -> tuple:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def make_server_cert(directory: Path, ca_key, ca_cert) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


class Directory:
    def __init__(self, base: Path, port: int, tls_port: int):
        self.base, self.port, self.tls_port = base, port, tls_port
        self.uri, self.ldaps_uri = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"
        self.ca_file, self.other_ca_file = str(base / "test-ca.pem"), str(base / "other-ca.pem")

    def admin(self):
        conn = ldap.initialize(self.uri)
        conn.simple_bind_s(ROOT_DN, ROOT_PW)
        return conn

    def set_members(self, group: str, *member_dns: str) -> None:
        member_dns = member_dns or (NOBODY,)  # groupOfNames needs a member
        conn = self.admin()
        try:
            conn.modify_s(
                f"cn={group},ou=groups,{BASE}", [(ldap.MOD_REPLACE, "member", [m.encode() for m in member_dns])]
            )
        finally:
            conn.unbind_s()

    def set_attribute(self, uid: str, name: str, value: str) -> None:
        conn = self.admin()
        try:
            conn.modify_s(f"uid={uid},ou=people,{BASE}", [(ldap.MOD_REPLACE, name, [value.encode()])])
        finally:
            conn.unbind_s()


@pytest.fixture(scope="session")
def slapd():
    if not Path(SLAPD).exists():
        pytest.fail("slapd is missing: `make test` installs Debian's slapd and ldap-utils")
    base = Path(tempfile.mkdtemp(prefix="slapd-"))
    (base / "data").mkdir()
    ca_key, ca_cert = make_ca(base, "test-ca")
    make_ca(base, "other-ca")
    make_server_cert(base, ca_key, ca_cert)
    conf = base / "slapd.conf"
    conf.write_text(
        f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {base}/slapd.pid
TLSCACertificateFile {base}/test-ca.pem
TLSCertificateFile {base}/server.pem
TLSCertificateKeyFile {base}/server.key
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {base}/data
access to attrs=userPassword by anonymous auth by self read by * none
access to * by users read by * none
"""
    )
    (base / "directory.ldif").write_text(directory_ldif())
    subprocess.run(["/usr/sbin/slapadd", "-f", str(conf), "-l", str(base / "directory.ldif")], check=True)
    directory = Directory(base, free_port(), free_port())
    log = open(base / "slapd.log", "w")  # noqa: SIM115 - open for the life of the process
    # -d: stay in the foreground (no daemon to find later); our own config file, not the system's.
    proc = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", f"{directory.uri}/ {directory.ldaps_uri}/", "-d", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                directory.admin().unbind_s()
                break
            except ldap.LDAPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("slapd did not start: " + (base / "slapd.log").read_text()[-2000:]) from None
                time.sleep(0.1)
        yield directory
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ldap_on(slapd, settings):
    """LDAP sign-in through a service account, nested groupOfNames groups."""
    settings.LDAP_SERVER_URI = slapd.uri
    settings.LDAP_ENABLED = True
    settings.LDAP_BIND_DN, settings.LDAP_BIND_PASSWORD = SERVICE_DN, SERVICE_PW
    settings.LDAP_USER_DN_TEMPLATE = ""
    settings.LDAP_USER_SEARCH_BASE = f"ou=people,{BASE}"
    settings.LDAP_USER_SEARCH_FILTER = "(uid=%(user)s)"
    settings.LDAP_GROUP_SEARCH_BASE = f"ou=groups,{BASE}"
    settings.LDAP_GROUP_SEARCH_FILTER = "(objectClass=groupOfNames)"
    settings.LDAP_GROUP_TYPE = "nestedGroupOfNames"
    settings.LDAP_START_TLS = False
    settings.LDAP_CA_FILE = ""
    settings.LDAP_TIMEOUT = 3.0
    people = f"ou=people,{BASE}"
    slapd.set_members("platform", f"uid=grace,{people}")
    slapd.set_members("ops", f"uid=linus,{people}")
    slapd.set_attribute("grace", "mail", "grace@example.org")
    slapd.set_attribute("grace", "givenName", "Grace")
    return slapd
