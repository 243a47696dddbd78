"""A real OpenSSH server on 127.0.0.1 serving Git repositories, started by the tests.

sshd runs as the current user with a config of its own (`-D -e -f`): a host key
and an authorized key generated per server, a free port, no PAM, public keys
only. `make test` installs Debian's openssh-server (scripts/os-packages.sh).
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitward.local.gitserver import free_port

SSHD = Path("/usr/sbin/sshd")


@dataclass(frozen=True)
class KeyPair:
    private: str
    public: str


@dataclass(frozen=True)
class SshServer:
    prefix: str  # ssh://user@127.0.0.1:PORT; append a repository's absolute path
    client_key: KeyPair  # the key sshd accepts
    known_hosts: str  # a known_hosts line naming this server's host key
    log: Path  # sshd's own log (-e), for failure messages


def keypair(folder: Path, name: str) -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return KeyPair(private=path.read_text(), public=(folder / f"{name}.pub").read_text().strip())


@contextmanager
def ssh_git_server(folder: Path) -> Iterator[SshServer]:
    """An sshd on loopback whose only accepted key is the yielded `client_key`."""
    if not SSHD.is_file():
        raise RuntimeError(f"{SSHD} is missing: run scripts/os-packages.sh (`make test` does) to install it")
    if os.geteuid() == 0:
        # sshd started by root checks its privilege-separation folder, which Debian's service creates.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    keys = folder / "keys"
    host = keypair(keys, "host")
    client = keypair(keys, "client")
    authorized = folder / "authorized_keys"
    authorized.write_text(client.public + "\n")
    user = getpass.getuser()
    log = folder / "sshd.log"
    for _ in range(3):
        port = free_port()
        config = folder / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"ListenAddress 127.0.0.1:{port}",
                    f"HostKey {keys / 'host'}",
                    f"AuthorizedKeysFile {authorized}",
                    f"AllowUsers {user}",
                    "PidFile none",
                    "UsePAM no",
                    # The test's files live under /tmp, which is world-writable.
                    "StrictModes no",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin prohibit-password",
                    "LogLevel VERBOSE",
                    "",
                ]
            )
        )
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )
        if not listening(port, process):
            process.kill()
            process.wait()
            continue
        try:
            yield SshServer(
                prefix=f"ssh://{user}@127.0.0.1:{port}",
                client_key=client,
                known_hosts=f"[127.0.0.1]:{port} {host.public}\n",
                log=log,
            )
        finally:
            process.terminate()
            process.wait(timeout=10)
        return
    raise RuntimeError(f"sshd did not start; its log: {log.read_text()[-2000:]}")


def listening(port: int, process: subprocess.Popen[bytes], seconds: float = 15) -> bool:
    """Whether `process` accepts connections on 127.0.0.1:`port` within `seconds` (False if it exited)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.02)
    return False
