"""A small internet in network namespaces: a public segment, home routers doing NAT, peers.

    pub  (198.19.0.1 on bridge br0: the rendezvous server and coturn run here)
      |-- router ra (WAN 198.19.0.11, MASQUERADE) -- peer a (10.0.1.2)
      |-- router rb (WAN 198.19.0.12, MASQUERADE) -- peer b (10.0.2.2)
      `-- or a peer directly on the public segment (198.19.0.20)

Each router forwards only replies inward (conntrack ESTABLISHED). Variants:
- `answers=False` (a home router): the router drops unsolicited packets to itself, so a peer's
  early probe leaves no conntrack entry and Linux keeps the source port: hole punching works.
- `answers=True`: the router's WAN side answers (ICMP port unreachable), the probe's conntrack
  entry takes the tuple, and the next outbound mapping gets another port (port-dependent).
- `udp="all" | "turn-only" | "none"`: which UDP may leave a home (turn-only: to coturn's port).
Names carry the pid (other test runs use namespaces at the same time). Needs root."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC = "198.19.0.1"
TURN_PORT = 3478
_counter = itertools.count()


def run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True, text=True)


def ns_run(ns: str, *args: str) -> None:
    run("ip", "netns", "exec", ns, *args)


@dataclass
class Internet:
    pub: str                              # namespace of the public server machine
    peers: dict[str, str]                 # "a"/"b" -> namespace of that peer
    addresses: dict[str, str]             # "a"/"b" -> the peer's own address
    routers: dict[str, str] = field(default_factory=dict)  # "a"/"b" -> router namespace (NATed peers)
    server_addr: str = PUBLIC

    @staticmethod
    def prefix(ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def rassist(self, who: str) -> list[str]:
        """The command line prefix that runs `python -m rassist` as peer `who`."""
        return [*self.prefix(self.peers[who]), sys.executable, "-m", "rassist"]


def _home(pub: str, tag: str, who: str, index: int, answers: bool, udp: str) -> tuple[str, str]:
    router, peer = f"nr{who}{tag}", f"np{who}{tag}"
    for ns in (router, peer):
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "set", "lo", "up")
    # Created inside the namespaces: device names never meet other test runs' devices.
    run("ip", "-n", router, "link", "add", "wan", "type", "veth", "peer", "name", f"h{who}", "netns", pub)
    run("ip", "-n", pub, "link", "set", f"h{who}", "master", "br0", "up")
    run("ip", "-n", router, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", peer)
    wan = f"198.19.0.{10 + index}"
    run("ip", "-n", router, "addr", "add", f"{wan}/24", "dev", "wan")
    run("ip", "-n", router, "addr", "add", f"10.0.{index}.1/24", "dev", "lan")
    run("ip", "-n", peer, "addr", "add", f"10.0.{index}.2/24", "dev", "eth0")
    for ns, dev in ((router, "wan"), (router, "lan"), (peer, "eth0")):
        run("ip", "-n", ns, "link", "set", dev, "up")
    run("ip", "-n", peer, "route", "add", "default", "via", f"10.0.{index}.1")
    ns_run(router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    ipt = ["ip", "netns", "exec", router, "iptables"]
    run(*ipt, "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE")
    run(*ipt, "-A", "FORWARD", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
    run(*ipt, "-A", "FORWARD", "-i", "wan", "-j", "DROP")
    if not answers:
        run(*ipt, "-A", "INPUT", "-i", "wan", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
        run(*ipt, "-A", "INPUT", "-i", "wan", "-j", "DROP")
    if udp == "turn-only":
        run(*ipt, "-A", "FORWARD", "-o", "wan", "-p", "udp", "-d", PUBLIC, "--dport", str(TURN_PORT), "-j", "ACCEPT")
    if udp in ("turn-only", "none"):
        run(*ipt, "-A", "FORWARD", "-o", "wan", "-p", "udp", "-j", "DROP")
    return router, peer


@contextmanager
def internet(answers: bool = False, udp: str = "all", public_peer: str | None = None,
             server_default_route: bool = True) -> Iterator[Internet]:
    """Peers a and b behind their own NAT; `public_peer` ("a" or "b") sits on the public segment instead.
    Without `server_default_route` the server machine cannot send to private addresses at all
    (sendto fails): scripts/repro_aioice_mixed.py shows what that does to coturn."""
    tag = f"{os.getpid()}x{next(_counter)}"
    pub = f"npub{tag}"
    made = [pub]
    try:
        run("ip", "netns", "add", pub)
        run("ip", "-n", pub, "link", "set", "lo", "up")
        run("ip", "-n", pub, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", pub, "addr", "add", f"{PUBLIC}/24", "dev", "br0")
        run("ip", "-n", pub, "link", "set", "br0", "up")
        # Like a real server, pub has a default route (into a veth with nothing behind it):
        # packets to private addresses leave and vanish instead of failing at send.
        run("ip", "-n", pub, "link", "add", "void", "type", "veth", "peer", "name", "void1")
        run("ip", "-n", pub, "link", "set", "void", "up")
        run("ip", "-n", pub, "link", "set", "void1", "up")
        if server_default_route:
            run("ip", "-n", pub, "route", "add", "default", "dev", "void")
        net = Internet(pub, {}, {})
        for index, who in enumerate("ab", start=1):
            if who == public_peer:
                ns = f"np{who}{tag}"
                made.append(ns)
                run("ip", "netns", "add", ns)
                run("ip", "-n", ns, "link", "set", "lo", "up")
                run("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", f"h{who}", "netns", pub)
                run("ip", "-n", pub, "link", "set", f"h{who}", "master", "br0", "up")
                address = f"198.19.0.{20 + index}"
                run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
                run("ip", "-n", ns, "link", "set", "eth0", "up")
                net.peers[who], net.addresses[who] = ns, address
            else:
                made += [f"nr{who}{tag}", f"np{who}{tag}"]
                router, peer = _home(pub, tag, who, index, answers, udp)
                net.routers[who], net.peers[who], net.addresses[who] = router, peer, f"10.0.{index}.2"
        yield net
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def coturn_available() -> str | None:
    """Why coturn cannot be used here, or None."""
    if shutil.which("turnserver") is None:
        return "coturn is not installed: .ci/run installs it with apt-get install coturn"
    return None


def coturn_args(address: str, secret: str, workdir: Path, port: int = TURN_PORT, tls: bool = False) -> list[str]:
    """The coturn options the tests use (README "Running your own server" shows the same).
    With `tls`, TURN over TLS on 443 too, with a certificate for `address` (see tls_files)."""
    tls_args = (["--tls-listening-port=443", f"--cert={workdir / 'turn.crt'}", f"--pkey={workdir / 'turn.key'}",
                 "--no-dtls"] if tls else ["--no-tls", "--no-dtls"])
    return ["turnserver", "-n", f"--listening-ip={address}", f"--relay-ip={address}",
            f"--listening-port={port}", "--use-auth-secret", f"--static-auth-secret={secret}",
            "--realm=rassist.test", *tls_args, "--no-cli", "--fingerprint",
            f"--log-file={workdir / 'turn.log'}", "--simple-log", f"--userdb={workdir / 'turndb'}",
            "--no-multicast-peers", "--denied-peer-ip=10.0.0.0-10.255.255.255",
            "--denied-peer-ip=172.16.0.0-172.31.255.255", "--denied-peer-ip=192.168.0.0-192.168.255.255",
            "--denied-peer-ip=100.64.0.0-100.127.255.255", "--denied-peer-ip=169.254.0.0-169.254.255.255"]


def tls_files(address: str, workdir: Path) -> Path:
    """A self-signed certificate for IP `address` (turn.crt, turn.key in workdir); returns the
    certificate, which clients trust through SSL_CERT_FILE."""
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(workdir / "turn.key"), "-out", str(workdir / "turn.crt"), "-days", "1",
        "-subj", "/CN=rassist test TURN", "-addext", f"subjectAltName=IP:{address}")
    return workdir / "turn.crt"


@contextmanager
def coturn(net: Internet, secret: str, workdir: Path, tls: bool = False) -> Iterator[subprocess.Popen]:
    """coturn on the public segment (UDP and TCP on 3478, with `tls` TLS on 443 too: call
    tls_files first); its log goes to a file."""
    log = workdir / "turn.log"
    proc = subprocess.Popen([*net.prefix(net.pub), *coturn_args(net.server_addr, secret, workdir, tls=tls)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "SQLite DB connection" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.05)
        time.sleep(0.2)  # its listeners open just after the database
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
