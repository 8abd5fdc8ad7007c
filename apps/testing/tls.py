"""Throwaway TLS files for test servers and clients: a CA, a server certificate for 127.0.0.1 (and any DNS
names), client certificates, made with the openssl CLI."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl is not installed (Debian package openssl)")
    subprocess.run([openssl, *args], check=True, capture_output=True)


def make_test_certificates(folder: Path, dns_names: tuple[str, ...] = ()) -> TlsFiles:
    """A new CA (ca.pem, ca.key) and a server certificate it signs for 127.0.0.1, localhost and dns_names."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=s6g test CA",
             "-keyout", str(ca_key), "-out", str(ca))
    names = ",".join(f"DNS:{name}" for name in ("localhost", *dns_names))
    cert, key = issue(folder, TlsFiles(ca, ca, ca_key), "server", f"subjectAltName=IP:127.0.0.1,{names}\n")
    return TlsFiles(ca, cert, key)


def issue(folder: Path, authority: TlsFiles, name: str, extensions: str) -> tuple[Path, Path]:
    """(certificate, key) <folder>/<name>.pem|key signed by authority (its ca and key), with these extensions."""
    cert, key, request = folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}.csr"
    extension_file = folder / f"{name}.cnf"
    extension_file.write_text(extensions)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(request))
    _openssl("x509", "-req", "-in", str(request), "-CA", str(authority.ca), "-CAkey", str(authority.key),
             "-CAcreateserial", "-days", "2", "-extfile", str(extension_file), "-out", str(cert))
    return cert, key


def client_certificate(folder: Path, made: TlsFiles, name: str) -> tuple[Path, Path]:
    """A client certificate (extendedKeyUsage clientAuth) signed by the CA make_test_certificates made."""
    authority = TlsFiles(made.ca, made.ca, made.ca.with_name("ca.key"))
    return issue(folder, authority, name, "extendedKeyUsage=clientAuth\n")
