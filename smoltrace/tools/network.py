"""Network tools: `curl` (HTTP requests) and `ping`, kept away from the host's own network.

Unless `--allow-local-network` is given, a host is refused when ANY address it resolves to is not a
public one (loopback, private, link-local such as the cloud metadata service 169.254.169.254, CGNAT,
reserved, multicast). The connection then goes to an address that was checked, not to the name again,
so DNS rebinding (a second lookup answering 127.0.0.1) has no window; a redirect is checked like a new
request. Proxies from the environment are not used: they would bypass the check.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import re
import shutil
import socket
import ssl
import subprocess
from urllib.parse import urljoin, urlsplit

from .sandbox import MAX_OUTPUT_CHARS, SafeTool, ToolRefusal, bounded

__all__ = ["CurlTool", "PingTool", "checked_addresses"]

MAX_BODY_BYTES = 16_000  # read at most this much of a response body; the output stays bounded
MAX_REQUEST_BODY_BYTES = 100_000
MAX_REDIRECTS = 5
MAX_TIMEOUT_S = 30
MAX_PING_COUNT = 10
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
_SHOWN_HEADERS = ("content-type", "content-length", "location", "server", "date")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
LOCAL_HINT = "pass --allow-local-network to allow local and private addresses"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def checked_addresses(host: str, port: int, *, allow_local: bool) -> list[str]:
    """Every address `host` resolves to, refused unless each one is allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolRefusal(f"cannot resolve '{host}': {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ToolRefusal(f"'{host}' has no address")
    for text in addresses:
        ip = _address(text)
        if ip.is_unspecified or ip.is_multicast:
            raise ToolRefusal(f"'{host}' resolves to {ip}, which cannot be contacted")
        if not allow_local and not ip.is_global:
            raise ToolRefusal(
                f"'{host}' resolves to {ip}, a local or private address; {LOCAL_HINT}"
            )
    return addresses


def _connect(host: str, port: int, addresses: list[str], timeout: float) -> socket.socket:
    error: OSError | None = None
    for address in addresses:  # literal addresses: connecting needs no further lookup
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise ToolRefusal(f"cannot connect to {host}:{port}: {error}")


class CurlTool(SafeTool):
    name = "curl"
    description = (
        "Makes an HTTP(S) request and returns the status, a few headers and the body (at most "
        f"{MAX_BODY_BYTES} bytes read). Local and private addresses are refused."
    )
    inputs = {
        "url": {"type": "string", "description": "http:// or https:// URL"},
        "method": {
            "type": "string",
            "description": "GET (default), HEAD, POST, PUT, DELETE or PATCH",
            "nullable": True,
        },
        "headers": {
            "type": "string",
            "description": 'Request headers as a JSON object, e.g. \'{"Accept": "text/plain"}\'',
            "nullable": True,
        },
        "body": {
            "type": "string",
            "description": "Request body (Content-Type application/json unless a header says otherwise)",
            "nullable": True,
        },
        "timeout": {
            "type": "integer",
            "description": f"Seconds per network operation (default 10, 1 to {MAX_TIMEOUT_S})",
            "nullable": True,
        },
        "follow_redirects": {
            "type": "boolean",
            "description": f"Follow up to {MAX_REDIRECTS} redirects (default true)",
            "nullable": True,
        },
    }
    output_type = "string"

    def __init__(self, *, allow_local_network: bool = False) -> None:
        self.allow_local_network = allow_local_network
        super().__init__()

    def forward(
        self,
        url: str,
        method: str | None = "GET",
        headers: str | None = None,
        body: str | None = None,
        timeout: int | None = 10,
        follow_redirects: bool | None = True,
    ) -> str:
        method = (method or "GET").upper()
        if method not in METHODS:
            raise ToolRefusal(f"unsupported method '{method}'; use {', '.join(METHODS)}")
        request_headers = self._headers(headers)
        data = body.encode() if body is not None else None
        if data is not None:
            if len(data) > MAX_REQUEST_BODY_BYTES:
                raise ToolRefusal(f"request body over {MAX_REQUEST_BODY_BYTES} bytes")
            if not any(k.lower() == "content-type" for k in request_headers):
                request_headers["Content-Type"] = "application/json"
        seconds = max(1, min(int(timeout or 10), MAX_TIMEOUT_S))
        for _ in range(MAX_REDIRECTS + 1):
            response, payload = self._request(url, method, request_headers, data, seconds)
            location = response.getheader("Location")
            if follow_redirects is False or response.status not in (301, 302, 303, 307, 308):
                break
            if not location:
                break
            url = urljoin(url, location)
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, data = "GET", None
        else:
            raise ToolRefusal(f"more than {MAX_REDIRECTS} redirects")
        lines = [f"HTTP {response.status} {response.reason}"]
        lines += [
            f"{name}: {value}"
            for name, value in response.getheaders()
            if name.lower() in _SHOWN_HEADERS
        ]
        if len(payload) > MAX_BODY_BYTES:
            lines.append(f"[body truncated at {MAX_BODY_BYTES} bytes]")
        text = payload[:MAX_BODY_BYTES].decode("utf-8", errors="replace")
        return bounded("\n".join(lines) + "\n\n" + text, MAX_OUTPUT_CHARS)

    @staticmethod
    def _headers(headers: str | None) -> dict[str, str]:
        if not headers:
            return {}
        try:
            parsed = json.loads(headers)
        except json.JSONDecodeError as exc:
            raise ToolRefusal(f"headers must be a JSON object: {exc.msg}") from None
        if not isinstance(parsed, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int | float) for k, v in parsed.items()
        ):
            raise ToolRefusal("headers must be a JSON object of names to text values")
        if any(k.lower() == "host" for k in parsed):
            raise ToolRefusal("the Host header comes from the URL; it cannot be set")
        for key, value in parsed.items():
            if re.search(r"[\r\n]", f"{key}{value}"):
                raise ToolRefusal("header names and values cannot contain line breaks")
        return {k: str(v) for k, v in parsed.items()}

    def _request(
        self, url: str, method: str, headers: dict[str, str], data: bytes | None, timeout: int
    ) -> tuple[http.client.HTTPResponse, bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ToolRefusal(f"only http and https URLs are allowed, not '{parts.scheme or url}'")
        if parts.username is not None or parts.password is not None:
            raise ToolRefusal("URLs with a user name or password are not allowed")
        host = parts.hostname
        if not host:
            raise ToolRefusal(f"no host in '{url}'")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ToolRefusal(f"invalid port in '{url}'") from None
        addresses = checked_addresses(host, port, allow_local=self.allow_local_network)
        sock = _connect(host, port, addresses, timeout)
        if parts.scheme == "https":
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            except (ssl.SSLError, OSError) as exc:
                sock.close()
                raise ToolRefusal(f"TLS with {host} failed: {exc}") from None
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        connection.sock = sock  # already connected to a checked address: no second lookup
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            payload = b"" if method == "HEAD" else response.read(MAX_BODY_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise ToolRefusal(f"request to {host} failed: {type(exc).__name__}: {exc}") from None
        finally:
            connection.close()
        return response, payload


_PING_SUMMARY = re.compile(r"(\d+(?:\.\d+)?)% packet loss")
_PING_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)")


class PingTool(SafeTool):
    name = "ping"
    description = (
        f"Pings a host (ICMP echo, at most {MAX_PING_COUNT} packets) and reports packet loss and "
        "round-trip times. Local and private addresses are refused."
    )
    inputs = {
        "host": {"type": "string", "description": "Host name or IP address"},
        "count": {
            "type": "integer",
            "description": f"Packets to send (default 4, 1 to {MAX_PING_COUNT})",
            "nullable": True,
        },
        "timeout": {
            "type": "integer",
            "description": "Seconds to wait for each reply (default 5, 1 to 10)",
            "nullable": True,
        },
    }
    output_type = "string"

    def __init__(self, *, allow_local_network: bool = False) -> None:
        self.allow_local_network = allow_local_network
        super().__init__()

    def forward(self, host: str, count: int | None = 4, timeout: int | None = 5) -> str:
        host = (host or "").strip()
        if host.startswith("-") or not (_HOSTNAME.match(host) or _is_ip(host)):
            raise ToolRefusal(f"'{host}' is not a host name or IP address")
        packets = max(1, min(int(count or 4), MAX_PING_COUNT))
        wait = max(1, min(int(timeout or 5), 10))
        address = checked_addresses(host, 0, allow_local=self.allow_local_network)[0]
        program = shutil.which("ping")
        if program is None:
            raise ToolRefusal("the ping program is not installed on this machine")
        argv = [program, "-n", "-c", str(packets), "-W", str(wait), address]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=packets * (wait + 1) + 5, check=False
            )
        except subprocess.TimeoutExpired:
            raise ToolRefusal(f"ping {host} did not finish in time") from None
        output = (done.stdout + done.stderr).strip()
        loss = _PING_SUMMARY.search(output)
        rtt = _PING_RTT.search(output)
        summary = [f"PING {host} ({address}): {packets} packet(s)"]
        if loss:
            summary.append(f"packet loss: {loss.group(1)}%")
        if rtt:
            summary.append(f"rtt min/avg/max: {rtt.group(1)}/{rtt.group(2)}/{rtt.group(3)} ms")
        if not loss:
            summary.append(f"exit status {done.returncode}")
        return bounded("\n".join(summary) + "\n\n" + output)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
