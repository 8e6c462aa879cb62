"""get_file(extract=True) against hostile archives and URL-derived names.

The tar cases rebuild (in our own code) the constructions published with the
June 2025 tarfile filter CVEs. CVE-2025-4517, CVE-2025-4138 and CVE-2025-4330
use a chain of long folder names joined by one-letter symlinks until the path
passes PATH_MAX, where ``realpath`` stops resolving, then a link that climbs
out through it, then a hard link (and a regular file of the same name) or a
file written through it: on Python 3.11.7 all three get past
``extractall(filter="data")`` and change a file outside. The CVE-2024-12718
(metadata changed through a link) and CVE-2025-4435 (members extracted after
one was refused) cases are the same ideas in their plainest form. Each must
be refused with nothing written outside and nothing left behind.
"""

from __future__ import annotations

import bz2
import io
import os
import tarfile
import warnings
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpukeras.utils import _archive_members, get_file
from gpukeras.utils._archive_utils import extract_archive
from tests import local_http

home = local_http.home
site = local_http.site

_STEPS = "abcdefghijklmnop"
_LONG = "d" * 247


def _tar(entries, mode="w") -> bytes:
    """A tar from (name, kind, payload) entries: kind 'file', 'dir', 'sym' or 'hard'."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as archive:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            data = None
            if kind == "file":
                info.size, data = len(payload), io.BytesIO(payload)
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, payload or 0o755
            else:
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = payload
            archive.addfile(info, data)
    return buffer.getvalue()


def _path_max_chain() -> tuple[list, str]:
    """Folders of 247 'd's each reached through one-letter links, and a last link whose
    name makes the path longer than PATH_MAX, pointing back up to the top."""
    entries, path = [], ""
    for step in _STEPS:
        entries.append((os.path.join(path, _LONG), "dir", 0o777))
        entries.append((os.path.join(path, step), "sym", _LONG))
        path = os.path.join(path, _LONG)
    top = os.path.join(*_STEPS, "l" * 254)
    entries.append((top, "sym", os.path.join(*[".."] * len(_STEPS))))
    return entries, top


def _cve_2025_4517_write(depth: int) -> list:
    """Link 'escape' climbs out through the chain; 'flag' hard-links into it, then a
    regular file 'flag' overwrites whatever the hard link reaches."""
    entries, top = _path_max_chain()
    entries.append(("escape", "sym", top + "/.." * depth + "/victim"))
    entries.append(("flag", "hard", "escape"))
    entries.append(("flag", "file", b"overwritten"))
    return entries


def _cve_2025_4138_symlink(depth: int) -> list:
    entries, top = _path_max_chain()
    entries.append(("escape", "sym", top + "/.." * depth))
    entries.append(("escape/victim", "file", b"overwritten"))
    return entries


def _cve_2025_4330_hardlink(depth: int) -> list:
    entries, top = _path_max_chain()
    entries.append(("escape", "sym", top + "/.." * depth + "/victim"))
    entries.append(("stolen", "hard", "escape"))
    return entries


def _cve_2024_12718_metadata(depth: int) -> list:
    return [("up", "sym", "/".join([".."] * depth)), ("up/victim", "dir", 0o777)]


def _cve_2025_4435_later_members(depth: int) -> list:
    return [("../victim", "file", b"overwritten"), ("ok.txt", "file", b"fine")]


def _hard_link_then_file(depth: int) -> list:
    return [
        ("up", "sym", "/".join([".."] * depth)),
        ("h", "hard", "up/victim"),
        ("h", "file", b"overwritten"),
    ]


def _link_chain_out(depth: int) -> list:
    # each link alone stays inside; together they climb out
    return [
        ("a/b/c", "dir", None),
        ("a/b/c/up", "sym", "../.."),
        ("a/x", "sym", "b/c/up/../.."),
        ("out", "sym", "a/x/" + "/".join([".."] * depth) + "/victim"),
    ]


HOSTILE_TARS = {
    "CVE-2025-4517 write through PATH_MAX chain": _cve_2025_4517_write,
    "CVE-2025-4138 symlink through PATH_MAX chain": _cve_2025_4138_symlink,
    "CVE-2025-4330 hard link through PATH_MAX chain": _cve_2025_4330_hardlink,
    "CVE-2024-12718 style: folder mode through a link": _cve_2024_12718_metadata,
    "CVE-2025-4435 style: refused member then more": _cve_2025_4435_later_members,
    "hard link then regular file of the same name": _hard_link_then_file,
    "links that climb out only together": _link_chain_out,
}


@pytest.fixture
def victim(home):
    """A file beside the cache that no archive may change."""
    path = home / "datasets" / "victim"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"original")
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("case", sorted(HOSTILE_TARS))
def test_published_tar_filter_bypasses_are_refused(home, site, victim, case):
    # The archive extracts into datasets/evil: one '..' reaches the victim beside it.
    url = site.add("/evil.tar", _tar(HOSTILE_TARS[case](depth=1)))
    with pytest.raises(ValueError, match="unsafe"):
        get_file("evil", url, extract=True)
    assert victim.read_bytes() == b"original"
    assert os.stat(victim).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(home / "datasets")) == ["evil_archive", "victim"]
    assert not (home / "datasets" / "stolen").exists() and not (home / "flag").exists()


def test_a_hard_link_is_a_copy_so_a_later_file_of_its_name_changes_only_itself(home, site):
    url = site.add(
        "/h.tar",
        _tar([("a.txt", "file", b"A"), ("h", "hard", "a.txt"), ("h", "file", b"new")]),
    )
    folder = get_file("h", url, extract=True)
    assert open(os.path.join(folder, "a.txt"), "rb").read() == b"A"
    assert open(os.path.join(folder, "h"), "rb").read() == b"new"


def test_links_that_stay_inside_after_full_resolution_are_kept(home, site):
    entries = [
        ("d/e", "dir", None),
        ("d/e/f.txt", "file", b"F"),
        ("d/up", "sym", ".."),
        ("d/alias", "sym", "up/d/e/f.txt"),
        ("hard", "hard", "d/e/f.txt"),
    ]
    url = site.add("/ok.tar.bz2", _tar(entries, mode="w:bz2"))
    folder = get_file("ok", url, extract=True)
    assert open(os.path.join(folder, "d", "alias"), "rb").read() == b"F"
    assert open(os.path.join(folder, "hard"), "rb").read() == b"F"
    assert os.path.islink(os.path.join(folder, "d", "up"))


def test_a_member_written_through_an_internal_link_is_refused(home, site):
    url = site.add("/via.tar", _tar([("d", "dir", None), ("l", "sym", "d"), ("l/x", "file", b"x")]))
    with pytest.raises(ValueError, match="through a link"):
        get_file("via", url, extract=True)


def test_tar_made_with_dot_prefix_extracts(home, site):
    url = site.add("/dot.tar", _tar([(".", "dir", None), ("./a/b.txt", "file", b"B")]))
    folder = get_file("dot", url, extract=True)
    assert open(os.path.join(folder, "a", "b.txt"), "rb").read() == b"B"


def test_a_file_member_named_dot_is_a_clear_error(home, site):
    url = site.add("/dotfile.tar", _tar([(".", "file", b"x")]))
    with pytest.raises(ValueError, match=r"dotfile_archive.*'\.'"):
        get_file("dotfile", url, extract=True)


@pytest.mark.parametrize("name", ["", "a\\..\\..\\x", "C:/x"])
def test_odd_tar_member_names_are_refused(home, site, name):
    url = site.add("/odd.tar", _tar([(name, "file", b"x")]))
    with pytest.raises(ValueError, match="unsafe"):
        get_file("odd", url, extract=True)


def test_a_fifo_is_refused(home, site):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("pipe")
        info.type = tarfile.FIFOTYPE
        archive.addfile(info)
    url = site.add("/fifo.tar", buffer.getvalue())
    with pytest.raises(ValueError, match="device or fifo"):
        get_file("fifo", url, extract=True)


# -- bombs and damaged archives ----------------------------------------------------------------
_BOMB_BYTES = _archive_members.EXTRACT_FLOOR_BYTES + (1 << 20)


def test_a_tar_bz2_bomb_is_refused_before_it_is_inflated(home, site):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as archive:
        info = tarfile.TarInfo("zeros")
        info.size = _BOMB_BYTES
        archive.addfile(info, io.BytesIO(bytes(_BOMB_BYTES)))
    data = buffer.getvalue()
    assert len(data) * 1000 < _BOMB_BYTES
    url = site.add("/bomb.tar.bz2", data)
    with pytest.raises(ValueError, match="decompression bomb"):
        get_file("bomb", url, extract=True)
    assert sorted(os.listdir(home / "datasets")) == ["bomb_archive"]


def test_a_huge_pax_header_is_refused_before_it_is_read(home, site):
    header = tarfile.TarInfo("x")
    header.type = tarfile.XHDTYPE
    header.size = 1 << 32  # tarfile would read a header this size into memory
    compressor = bz2.BZ2Compressor()
    data = compressor.compress(header.tobuf(format=tarfile.USTAR_FORMAT))
    for _ in range(_BOMB_BYTES >> 20):
        data += compressor.compress(bytes(1 << 20))
    data += compressor.flush()
    url = site.add("/pax.tar.bz2", data)
    with pytest.raises(ValueError, match="bomb"):
        get_file("pax", url, extract=True)


def test_a_zip_bomb_is_refused_before_it_is_inflated(home, site):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("zeros", "w", force_zip64=True) as member:
            for _ in range(_BOMB_BYTES >> 20):
                member.write(bytes(1 << 20))
    url = site.add("/bomb.zip", buffer.getvalue())
    with pytest.raises(ValueError, match="decompression bomb"):
        get_file("bomb", url, extract=True)
    assert sorted(os.listdir(home / "datasets")) == ["bomb_archive"]


def _zip(members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def _zip_info(name: str, mode: int | None = None) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    if mode is not None:
        info.create_system, info.external_attr = 3, mode << 16
    return info


@pytest.mark.parametrize(
    "name, mode, match",
    [
        ("/abs.txt", None, "absolute"),
        ("a/../../x.txt", None, r"'\.\.'"),
        ("link", 0o120777, "symbolic link"),
    ],
)
def test_unsafe_zip_members_are_refused(home, site, name, mode, match):
    url = site.add("/evil.zip", _zip([(_zip_info("ok.txt"), b"1"), (_zip_info(name, mode), b"..")]))
    with pytest.raises(ValueError, match=match):
        get_file("evil", url, extract=True)
    assert sorted(os.listdir(home / "datasets")) == ["evil_archive"]


def _patched_zip(flag_bits: int = 0, method: int | None = None) -> bytes:
    data = bytearray(_zip([(_zip_info("a.txt"), b"hello")]))
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        at = data.index(signature)
        data[at + flag_at] |= flag_bits
        if method is not None:
            data[at + method_at : at + method_at + 2] = method.to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize(
    "data, match",
    [
        (_patched_zip(flag_bits=1), "is encrypted"),
        (_patched_zip(method=99), "compression method 99"),
    ],
)
def test_unsupported_zip_members_are_clear_errors(home, site, data, match):
    url = site.add("/odd.zip", data)
    with pytest.raises(ValueError, match=rf"odd_archive.*{match}"):
        get_file("odd", url, extract=True)


def _truncated_tar_gz() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        payload = os.urandom(50_000)
        info = tarfile.TarInfo("a.bin")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()[:30_000]


def _truncated_zip() -> bytes:
    data = _zip([(_zip_info("a.bin"), os.urandom(50_000))], zipfile.ZIP_STORED)
    directory = data.index(b"PK\x01\x02")
    return data[:20_000] + data[directory:]  # the central directory still claims 50,000 bytes


@pytest.mark.parametrize(
    "suffix, data",
    [(".tar.gz", _truncated_tar_gz()), (".zip", _truncated_zip())],
)
def test_truncated_archives_are_clear_errors(home, site, suffix, data):
    url = site.add("/cut" + suffix, data)
    with pytest.raises(ValueError, match="cut_archive.*truncated or damaged"):
        get_file("cut", url, extract=True)
    assert sorted(os.listdir(home / "datasets")) == ["cut_archive"]


# -- names taken from URLs ----------------------------------------------------------------------
@pytest.mark.parametrize("tail", ["data/..", "data/.", "data/%00x".replace("%00", "\0")])
def test_url_derived_names_that_are_not_plain_names_are_refused(home, site, tail):
    (home / "datasets").mkdir(parents=True)
    (home / "keep.txt").write_text("keep")
    origin = site.url("/") + tail
    with pytest.raises(ValueError, match="plain name") as info:
        get_file(origin=origin, extract=True)
    assert repr(origin) in str(info.value)
    assert (home / "keep.txt").read_text() == "keep"
    assert (home / "datasets").is_dir()


@pytest.mark.parametrize("fname", ["..", ".", " ", "a\\b", "a\0b"])
def test_fname_that_is_not_a_plain_name_is_refused(home, fname):
    with pytest.raises(ValueError, match="fname"):
        get_file(fname, "http://127.0.0.1:9/x.tar", extract=True)


# -- random archives: never a byte outside ----------------------------------------------------
_PARTS = st.sampled_from(["a", "b", "..", ".", "", "l", "outside", "victim"])
_NAMES = st.lists(_PARTS, min_size=1, max_size=4).map("/".join)
_LINKS = st.one_of(_NAMES, _NAMES.map(lambda name: "/" + name))
_ENTRIES = st.lists(
    st.one_of(
        st.tuples(_NAMES, st.just("file"), st.just(b"x")),
        st.tuples(_NAMES, st.just("dir"), st.just(None)),
        st.tuples(_NAMES, st.sampled_from(["sym", "hard"]), _LINKS),
    ),
    min_size=1,
    max_size=8,
)


def _snapshot(folder) -> dict:
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            found[path] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


# A fixed, bounded run in CI; GPUKERAS_FUZZ_EXAMPLES=5000 runs a long random one.
_LONG_FUZZ = os.environ.get("GPUKERAS_FUZZ_EXAMPLES")


@settings(
    max_examples=int(_LONG_FUZZ or 150),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=not _LONG_FUZZ,
    database=None,
)
@given(entries=_ENTRIES)
def test_random_tar_archives_never_touch_anything_outside(tmp_path_factory, entries):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "outside").mkdir()
    (root / "outside" / "victim").write_bytes(b"original")
    (root / "cache").mkdir()
    archive = root / "cache" / "a.tar"
    archive.write_bytes(_tar(entries))
    before = _snapshot(root / "outside")
    destination = root / "cache" / "out"
    try:
        extracted = extract_archive(str(archive), str(destination), ["tar"])
    except ValueError:
        extracted = False
        assert not destination.exists()
    assert _snapshot(root / "outside") == before
    assert sorted(os.listdir(root / "cache")) == (["a.tar", "out"] if extracted else ["a.tar"])
    if extracted:
        base = os.path.realpath(destination)
        for path in _snapshot(destination):
            resolved = os.path.realpath(path)
            assert resolved == base or resolved.startswith(base + os.sep), (path, resolved)


_ZIP_NAMES = st.lists(
    st.sampled_from(["a", "b", "..", ".", "", "outside", "C:", "\\..", "a\\..\\.."]),
    min_size=1,
    max_size=4,
).map("/".join)


@settings(
    max_examples=int(_LONG_FUZZ or 100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=not _LONG_FUZZ,
    database=None,
)
@given(
    members=st.lists(
        st.tuples(_ZIP_NAMES, st.sampled_from([None, 0o100644, 0o120777, 0o040755])),
        min_size=1,
        max_size=6,
    )
)
def test_random_zip_archives_never_touch_anything_outside(tmp_path_factory, members):
    root = tmp_path_factory.mktemp("zipfuzz")
    (root / "outside").mkdir()
    (root / "outside" / "victim").write_bytes(b"original")
    (root / "cache").mkdir()
    archive = root / "cache" / "a.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        archive.write_bytes(_zip([(_zip_info(name, mode), b"..") for name, mode in members]))
    before = _snapshot(root / "outside")
    destination = root / "cache" / "out"
    try:
        extracted = extract_archive(str(archive), str(destination), ["zip"])
    except ValueError:
        extracted = False
        assert not destination.exists()
    assert _snapshot(root / "outside") == before
    assert sorted(os.listdir(root / "cache")) == (["a.zip", "out"] if extracted else ["a.zip"])
    if extracted:
        assert not any(os.path.islink(path) for path in _snapshot(destination))
