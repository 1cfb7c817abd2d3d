"""Connect anywhere: peers behind NATs of several kinds, with the rendezvous server alone or with
coturn (tests/nat.py builds the little internet). Each test checks chat both ways; a, c and e
move a file too."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.nat import Internet, coturn, coturn_available, internet, tls_files
from tests.netns import unavailable_reason
from tests.procs import Proc, rendezvous_server

pytestmark = pytest.mark.netns
SECRET = "nat-test-secret"


@pytest.fixture(autouse=True)
def needs_namespaces():
    if reason := unavailable_reason():
        pytest.skip(reason=reason)


def turn_args(net: Internet, secret: str = SECRET) -> list[str]:
    host = net.server_addr
    return ["--turn", f"turn:{host}:3478", "--turn", f"turn:{host}:3478?transport=tcp", "--turn-secret", secret]


def start(stack: ExitStack, net: Internet, tmp: Path, with_turn: bool, server_args: list[str] | None = None,
          server_prefix: list[str] | None = None) -> str:
    if with_turn:
        if reason := coturn_available():
            pytest.skip(reason=reason)
        stack.enter_context(coturn(net, SECRET, tmp))
    args = server_args if server_args is not None else (turn_args(net) if with_turn else [])
    return stack.enter_context(rendezvous_server(*args, host=net.server_addr,
                                                 prefix=tuple(server_prefix or net.prefix(net.pub))))


def pair(net: Internet, url: str, tmp: Path, files: bool = False) -> tuple[Proc, Proc, dict, dict]:
    extra_host = ["--allow", "files", "--download-dir", str(tmp / "host-in")] if files else ["--yes"]
    extra_join = ["--files", "--download-dir", str(tmp / "join-in")] if files else []
    host = Proc([*net.rassist("a"), "host", "--json", "--once", "--server", url, *extra_host], raw=True)
    code = host.wait_event("code")["code"]
    join = Proc([*net.rassist("b"), "join", code, "--json", "--server", url, *extra_join], raw=True)
    joined = join.wait_event("connected", timeout=30)
    hosted = host.wait_event("connected", timeout=30)
    return host, join, joined["route"], hosted["route"]


def chat_both_ways(host: Proc, join: Proc) -> None:
    join.send({"chat": "hello from the joiner"})
    host.wait_event("chat", text="hello from the joiner")
    host.send({"chat": "hello from the host"})
    assert join.wait_event("chat", text="hello from the host")["from"] != "me"


def file_to_host(host: Proc, join: Proc, tmp: Path) -> None:
    (tmp / "host-in").mkdir(exist_ok=True)
    data = bytes(range(256)) * 2000  # 512 kB
    (tmp / "report.bin").write_bytes(data)
    join.send({"send": str(tmp / "report.bin")})
    offer = host.wait_event("file-offer", timeout=30)
    host.send({"accept": offer["id"]})
    done = host.wait_event("file-done", timeout=60)
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    assert (tmp / "host-in" / "report.bin").read_bytes() == data


def finish(host: Proc, join: Proc) -> None:
    join.send({"quit": True})
    assert join.wait_exit() == 0 and host.wait_exit() == 0


def test_a_two_home_nats_rendezvous_only_connect_directly(tmp_path):
    with internet() as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=False)
        host, join, route, host_route = pair(net, url, tmp_path, files=True)
        assert route["path"] == "direct" and "relay" not in (route["local"], route["remote"])
        assert {route["local"], route["remote"]} <= {"host", "srflx", "prflx"} and "srflx" in \
            {route["local"], route["remote"], host_route["local"], host_route["remote"]}
        chat_both_ways(host, join)
        file_to_host(host, join, tmp_path)
        finish(host, join)


def test_b_with_coturn_still_direct(tmp_path):
    with internet() as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=True)
        host, join, route, host_route = pair(net, url, tmp_path)
        assert route["path"] == host_route["path"] == "direct", (route, host_route)
        chat_both_ways(host, join)
        finish(host, join)


def test_c_port_dependent_nats_go_through_the_relay(tmp_path):
    with internet(answers=True) as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=True)
        host, join, route, host_route = pair(net, url, tmp_path, files=True)
        assert route["path"] == host_route["path"] == "relay", (route, host_route)
        assert route["why"]
        chat_both_ways(host, join)
        file_to_host(host, join, tmp_path)
        finish(host, join)


def test_d_udp_only_to_turn_relays_over_udp(tmp_path):
    with internet(udp="turn-only") as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=True)
        host, join, route, host_route = pair(net, url, tmp_path)
        assert route["path"] == host_route["path"] == "relay", (route, host_route)
        assert "udp" in (route["relay"], host_route["relay"]) and "tcp" not in (route["relay"], host_route["relay"])
        chat_both_ways(host, join)
        finish(host, join)


def test_e_no_udp_at_all_relays_over_tcp(tmp_path):
    with internet(udp="none") as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=True)
        host, join, route, host_route = pair(net, url, tmp_path, files=True)
        assert route["path"] == host_route["path"] == "relay", (route, host_route)
        assert route["relay"] == "tcp" and host_route["relay"] == "tcp"
        assert route["why"] == "UDP is blocked on this network"
        chat_both_ways(host, join)
        file_to_host(host, join, tmp_path)
        finish(host, join)


def test_f_one_peer_public_connects_directly(tmp_path):
    with internet(public_peer="b") as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=True)
        host, join, route, host_route = pair(net, url, tmp_path)
        assert route["path"] == host_route["path"] == "direct", (route, host_route)
        chat_both_ways(host, join)
        finish(host, join)


def _no_route(net: Internet, url: str) -> tuple[dict, dict]:
    host = Proc([*net.rassist("a"), "host", "--json", "--once", "--yes", "--server", url], raw=True)
    code = host.wait_event("code")["code"]
    join = Proc([*net.rassist("b"), "join", code, "--json", "--server", url], raw=True)
    error = join.wait_event("error", timeout=40)
    assert join.wait_exit(timeout=30) == 8, (error, host.wait_event("error", timeout=40))
    return error, host.wait_event("error", timeout=40)


@pytest.mark.parametrize("fault", ["wrong-secret", "coturn-down", "expired"])
def test_g_a_broken_relay_is_a_clear_no_route_error(tmp_path, fault):
    with internet(udp="turn-only") as net, ExitStack() as stack:
        if reason := coturn_available():
            pytest.skip(reason=reason)
        if fault != "coturn-down":
            stack.enter_context(coturn(net, SECRET, tmp_path))
        args = turn_args(net, "not-the-secret" if fault == "wrong-secret" else SECRET) + ["--turn-ttl", "3600"]
        prefix = net.prefix(net.pub)
        if fault == "expired":
            # The server's clock two hours behind, credentials valid for one: expired an hour ago.
            prefix = [*prefix, sys.executable, "-c",
                      "import sys, time; real = time.time; time.time = lambda: real() - 7200; "
                      "sys.argv[0] = 'rassist'; from rassist.cli.main import main; main()"]
            url = stack.enter_context(rendezvous_server(*args, host=net.server_addr, prefix=tuple(prefix),
                                                        command=()))
        else:
            url = start(stack, net, tmp_path, with_turn=False, server_args=args)
        error, host_error = _no_route(net, url)
        for e in (error, host_error):
            assert e["kind"] == "no-route", e
            assert "rassist doctor" in e["message"]
        expected = {"wrong-secret": "401", "expired": "401", "coturn-down": "TURN turn:"}[fault]
        assert expected in error["message"], error["message"]
        if fault == "coturn-down":
            assert "refused the connection" in error["message"] or "did not answer" in error["message"]


@pytest.mark.parametrize("kind", ["port-dependent", "no-udp"])
def test_send_and_receive_through_the_relay(tmp_path, kind):
    data = bytes(range(256)) * 3000  # 768 kB
    (tmp_path / "dump.bin").write_bytes(data)
    options = {"port-dependent": {"answers": True}, "no-udp": {"udp": "none"}}[kind]
    with internet(**options) as net, ExitStack() as stack:
        url = start(stack, net, tmp_path, with_turn=True)
        sender = Proc([*net.rassist("a"), "send", "--json", "--server", url, str(tmp_path / "dump.bin")], raw=True)
        code = sender.wait_event("code")["code"]
        receiver = Proc([*net.rassist("b"), "receive", code, "--json", "--yes", "--server", url,
                         "-o", str(tmp_path / "in")], raw=True)
        assert receiver.wait_event("connected", timeout=30)["route"]["path"] == "relay"
        done = receiver.wait_event("file-done", timeout=90)
        assert done["sha256"] == hashlib.sha256(data).hexdigest()
        assert (tmp_path / "in" / "dump.bin").read_bytes() == data
        assert receiver.wait_exit(60) == 0 and sender.wait_exit(30) == 0


def test_turn_over_tls_on_443_when_only_tls_gets_out(tmp_path):
    """TCP 3478 and all UDP blocked: only TURN over TLS on 443 (and the rendezvous) gets out."""
    with internet(udp="none") as net, ExitStack() as stack:
        if reason := coturn_available():
            pytest.skip(reason=reason)
        cert = tls_files(net.server_addr, tmp_path)
        stack.enter_context(coturn(net, SECRET, tmp_path, tls=True))
        for router in net.routers.values():
            subprocess.run([*net.prefix(router), "iptables", "-A", "FORWARD", "-o", "wan", "-p", "tcp",
                            "--dport", "3478", "-j", "DROP"], check=True)
        url = start(stack, net, tmp_path, with_turn=False, server_args=[
            *turn_args(net), "--turn", f"turns:{net.server_addr}:443?transport=tcp"])
        env = {"SSL_CERT_FILE": str(cert)}  # the test's own CA; a real server has a public certificate
        host = Proc([*net.rassist("a"), "host", "--json", "--yes", "--once", "--server", url], raw=True, env=env)
        code = host.wait_event("code")["code"]
        join = Proc([*net.rassist("b"), "join", code, "--json", "--server", url], raw=True, env=env)
        route = join.wait_event("connected", timeout=30)["route"]
        assert (route["path"], route["relay"]) == ("relay", "tls"), route
        assert host.wait_event("connected", timeout=30)["route"]["relay"] == "tls"
        chat_both_ways(host, join)
        finish(host, join)
        doctor = subprocess.run([*net.rassist("a"), "doctor", "--json", "--server", url], capture_output=True,
                                text=True, timeout=60, env={**os.environ, **env})
        checks = [json.loads(line) for line in doctor.stdout.splitlines()]
        assert doctor.returncode == 0
        assert {c["transport"]: c["ok"] for c in checks if c.get("name") == "turn"} == \
            {"udp": False, "tcp": False, "tls": True}
