"""`--web.config.file`: TLS and basic auth for the exporter, in the format every Prometheus
exporter reads (prometheus/exporter-toolkit's web configuration):

    tls_server_config:
      cert_file: /etc/netwatch/tls.crt
      key_file: /etc/netwatch/tls.key
      client_auth_type: RequireAndVerifyClientCert   # optional, with client_ca_file
      client_ca_file: /etc/netwatch/ca.crt
      min_version: TLS12                             # optional: TLS10..TLS13
    basic_auth_users:
      prometheus: $2y$10$...                         # bcrypt, as `htpasswd -nBC 10` makes it

Anything else in the file is refused by name rather than silently ignored: a setting an operator
believes is in force must be.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml


class WebConfigError(Exception):
    """The web configuration cannot be used; the message says why, in one line."""


_TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": ssl.CERT_OPTIONAL,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAnyClientCert": ssl.CERT_REQUIRED,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_TLS_KEYS = {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
             "max_version"}  # fmt: skip


class BasicAuth:
    """Users and their bcrypt hashes. A password that matched once is remembered (as a keyed
    digest, never in clear) so a scrape every few seconds costs no bcrypt round each time."""

    def __init__(self, users: dict[str, bytes]) -> None:
        self._users = users
        self._key = hashlib.sha256(repr(sorted(users.items())).encode()).digest()
        self._good: set[bytes] = set()
        self._lock = threading.Lock()

    def allows(self, header: str | None) -> bool:
        creds = decode_basic(header)
        if creds is None:
            return False
        user, password = creds
        hashed = self._users.get(user)
        if hashed is None:
            return False
        digest = hmac.new(self._key, f"{user}\0{password}".encode(), "sha256").digest()
        with self._lock:
            if digest in self._good:
                return True
        if not bcrypt.checkpw(password.encode(), hashed):
            return False
        with self._lock:
            self._good.add(digest)
        return True


@dataclass(frozen=True)
class WebConfig:
    tls: ssl.SSLContext | None
    auth: BasicAuth | None


def load_web_config(path: Path) -> WebConfig:
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise WebConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise WebConfigError(f"{path} is not valid YAML") from exc
    if data is None:
        return WebConfig(None, None)
    if not isinstance(data, dict):
        raise WebConfigError(f"{path}: expected a mapping at the top")
    unknown = set(data) - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise WebConfigError(f"{path}: not supported: {', '.join(sorted(map(str, unknown)))}")
    tls = _tls(path, data.get("tls_server_config"))
    auth = _auth(path, data.get("basic_auth_users"))
    return WebConfig(tls, auth)


def _tls(path: Path, section: Any) -> ssl.SSLContext | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        raise WebConfigError(f"{path}: tls_server_config must be a mapping")
    unknown = set(section) - _TLS_KEYS
    if unknown:
        raise WebConfigError(
            f"{path}: tls_server_config: not supported: {', '.join(sorted(map(str, unknown)))}"
        )
    cert, key = section.get("cert_file"), section.get("key_file")
    if not isinstance(cert, str) or not isinstance(key, str):
        raise WebConfigError(f"{path}: tls_server_config needs cert_file and key_file")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    for field, attr in (("min_version", "minimum_version"), ("max_version", "maximum_version")):
        if field in section:
            version = _TLS_VERSIONS.get(str(section[field]))
            if version is None:
                raise WebConfigError(f"{path}: {field} must be one of {', '.join(_TLS_VERSIONS)}")
            setattr(ctx, attr, version)
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise WebConfigError(f"{path}: cannot load {cert} and {key}: {exc}") from exc
    mode = str(section.get("client_auth_type", "NoClientCert"))
    if mode not in _CLIENT_AUTH:
        raise WebConfigError(f"{path}: client_auth_type must be one of {', '.join(_CLIENT_AUTH)}")
    ctx.verify_mode = _CLIENT_AUTH[mode]
    ca = section.get("client_ca_file")
    if ca is not None:
        try:
            ctx.load_verify_locations(str(ca))
        except (OSError, ssl.SSLError) as exc:
            raise WebConfigError(f"{path}: cannot load client_ca_file {ca}: {exc}") from exc
    elif mode != "NoClientCert":
        # Python's TLS verifies every certificate it asks for: it needs the CA to verify with.
        raise WebConfigError(f"{path}: client_auth_type {mode} needs client_ca_file")
    return ctx


def _auth(path: Path, section: Any) -> BasicAuth | None:
    if section is None:
        return None
    if not isinstance(section, dict) or not section:
        raise WebConfigError(f"{path}: basic_auth_users must map user names to bcrypt hashes")
    users: dict[str, bytes] = {}
    for user, hashed in section.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise WebConfigError(f"{path}: basic_auth_users: {user}'s password is not bcrypt")
        users[str(user)] = hashed.encode()
    return BasicAuth(users)


def decode_basic(header: str | None) -> tuple[str, str] | None:
    """The user and password of an `Authorization: Basic` header, or None."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None
