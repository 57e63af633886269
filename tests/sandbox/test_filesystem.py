"""The sandbox sees a minimal read-only filesystem: no host files, one size-limited tmpfs."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.sandbox.profiles import ProfileStore
from runtime.sandbox.result import Status

from .probes import Jail, explain, out, script, unique_token


def test_host_temp_file_is_not_visible(jail: Jail, tmp_path: Path) -> None:
    """A world-readable file the host creates in a temp dir does not exist inside the sandbox."""
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret\n")
    secret.chmod(0o644)
    result = jail.python(
        script(f"""
        try:
            open({str(secret)!r}).read()
            print("readable")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "ENOENT", explain(result)


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd", "/root", "/home", "/var", "/boot"])
def test_host_path_is_absent(jail: Jail, path: str) -> None:
    """Host directories and credential files are not in the sandbox at all."""
    result = jail.python(f"import os; print(os.path.lexists({path!r}))")
    assert out(result) == "False", explain(result)


def test_root_holds_only_the_profile_mounts(jail: Jail) -> None:
    """/ contains exactly the profile's binds, symlinks, devices, tmpfs and /proc."""
    result = jail.python("import os; print(' '.join(sorted(os.listdir('/'))))")
    assert out(result) == "bin dev lib lib64 proc tmp usr", explain(result)


@pytest.mark.parametrize("directory", ["/", "/usr", "/usr/bin", "/usr/lib", "/dev"])
def test_rootfs_is_read_only(jail: Jail, directory: str) -> None:
    """Creating a file outside the work dir fails with EROFS."""
    result = jail.python(
        script(f"""
        import os
        try:
            os.open(os.path.join({directory!r}, "planted"), os.O_CREAT | os.O_WRONLY, 0o644)
            print("created")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "EROFS", explain(result)


def test_work_dir_is_writable(jail: Jail) -> None:
    """The work dir /tmp accepts files and is the process's current directory."""
    result = jail.python(
        script("""
        import os
        with open("note.txt", "w") as f:
            f.write("hello")
        print(os.getcwd(), open("/tmp/note.txt").read())
    """)
    )
    assert result.status is Status.OK, explain(result)
    assert out(result) == "/tmp hello"


def test_work_dir_is_fresh_for_each_run(jail: Jail) -> None:
    """A file one run leaves in /tmp is not there for the next run."""
    path = f"/tmp/{unique_token()}"
    first = jail.python(f"open({path!r}, 'w').write('left behind'); print('written')")
    assert out(first) == "written", explain(first)
    second = jail.python(f"import os; print(os.path.lexists({path!r}))")
    assert out(second) == "False", explain(second)


def test_work_dir_is_limited_by_tmpfs_size(jail: Jail) -> None:
    """Filling /tmp stops with ENOSPC at the profile's tmpfs size."""
    (tmpfs,) = [t for t in jail.profile.filesystem.tmpfs if t.path == "/tmp"]
    chunk = 1024 * 1024
    # Several files, each below the file size limit, so ENOSPC rather than EFBIG ends the fill.
    per_file = jail.profile.limits.file_size_bytes // 2
    result = jail.python(
        script(f"""
        import os
        written, index, block = 0, 0, b"x" * {chunk}
        try:
            while True:
                fd = os.open(f"/tmp/fill{{index}}", os.O_CREAT | os.O_WRONLY, 0o600)
                index += 1
                for _ in range({per_file // chunk}):
                    written += os.write(fd, block)
                os.close(fd)
        except OSError as exc:
            print(errno_name(exc), written)
    """)
    )
    name, written = out(result).split()
    assert name == "ENOSPC", explain(result)
    assert tmpfs.size_bytes - 2 * chunk <= int(written) <= tmpfs.size_bytes


@pytest.mark.parametrize("profile", ["default", "minimal"])
def test_dev_holds_only_profile_devices(jail: Jail, profiles: ProfileStore, profile: str) -> None:
    """/dev lists exactly the devices the profile names."""
    chosen = type(jail)(jail.launcher, profiles.get(profile))
    result = chosen.python("import os; print(' '.join(sorted(os.listdir('/dev'))))")
    expected = " ".join(sorted(Path(d).name for d in chosen.profile.filesystem.devices))
    assert out(result) == expected, explain(result)


def test_device_nodes_cannot_be_created(jail: Jail) -> None:
    """mknod of a disk-like block device in the work dir fails with EPERM."""
    result = jail.python(
        script("""
        import os, stat
        try:
            os.mknod("/tmp/sda", 0o600 | stat.S_IFBLK, os.makedev(8, 0))
            print("created")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "EPERM", explain(result)


def test_sys_is_absent(jail: Jail) -> None:
    """/sys is not mounted in the sandbox."""
    result = jail.python("import os; print(os.path.lexists('/sys'))")
    assert out(result) == "False", explain(result)


def test_proc_shows_only_the_sandbox(jail: Jail) -> None:
    """/proc lists only PID 1, and PID 1 is the jailed process itself."""
    result = jail.python(
        script("""
        import os
        pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
        argv0 = open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode()
        print(os.getpid(), ",".join(pids), argv0)
    """)
    )
    assert out(result) == "1 1 /usr/bin/python3", explain(result)


def test_proc_sees_sandbox_children_only(jail: Jail) -> None:
    """A child of the jailed process is the only other pid /proc shows."""
    result = jail.python(
        script("""
        import os, subprocess
        child = subprocess.Popen(["/usr/bin/sleep", "5"])
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        print(pids == [1, child.pid], len(pids))
        child.kill()
    """)
    )
    assert out(result) == "True 2", explain(result)


def test_proc_is_read_only(jail: Jail) -> None:
    """Writing under /proc, even the process's own comm, fails with EROFS."""
    result = jail.python(
        script("""
        try:
            with open("/proc/self/comm", "w") as f:
                f.write("pwned")
            print("written")
        except OSError as exc:
            print(errno_name(exc))
    """)
    )
    assert out(result) == "EROFS", explain(result)


HOST_PROC_FILES = (
    "/proc/cmdline",
    "/proc/sys/kernel/random/boot_id",
    "/proc/loadavg",
    "/proc/meminfo",
    "/proc/kallsyms",
    "/proc/sys/kernel/hostname",
    "/proc/modules",
)


def test_proc_shows_nothing_of_the_host(jail: Jail) -> None:
    """The host's kernel command line, boot id, load, memory, symbols and /proc/sys are absent
    from the sandbox's /proc; only its own processes (and self) are listed."""
    result = jail.python(
        script(f"""
        import os
        for path in {HOST_PROC_FILES!r}:
            try:
                open(path).read()
                print(path, "read")
            except OSError as exc:
                print(path, errno_name(exc))
        print(sorted(n for n in os.listdir("/proc") if not n.isdigit()))
    """)
    )
    *files, listing = out(result).splitlines()
    assert files == [f"{path} ENOENT" for path in HOST_PROC_FILES], explain(result)
    assert listing == "['self', 'thread-self']", explain(result)
