"""gpukeras.utils.get_file against a local HTTP server: caching, hashes, failures, extraction."""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import zipfile

import pytest

from gpukeras.utils import get_file
from tests import local_http
from tests.local_http import closed_port_url

# Fixtures shared with the data set tests.
home = local_http.home
site = local_http.site

PAYLOAD = b"gpukeras test payload\n" * 100
CONTROL = re.compile(r"[\r\b\x1b]")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(folder) -> list[str]:
    """Temporary files a download or extraction might have left behind."""
    return [n for n in os.listdir(folder) if n.startswith(".")] if os.path.isdir(folder) else []


# -- downloading and caching ------------------------------------------------------------
def test_downloads_once_into_the_home_datasets_folder(home, site, capsys):
    url = site.add("/data/payload.bin", PAYLOAD)
    path = get_file("payload.bin", origin=url, file_hash=sha256(PAYLOAD))
    assert path == str(home / "datasets" / "payload.bin")
    assert open(path, "rb").read() == PAYLOAD
    again = get_file("payload.bin", origin=url, file_hash=sha256(PAYLOAD))
    assert again == path and site.hits["/data/payload.bin"] == 1
    out = capsys.readouterr().out
    assert f"Downloading data from {url}" in out
    assert f"{len(PAYLOAD)}/{len(PAYLOAD)}" in out  # the progress bar's final line
    assert not CONTROL.search(out)  # not a terminal: plain lines


def test_file_name_defaults_to_the_url_basename(home, site):
    url = site.add("/deep/path/archive-name.npz", PAYLOAD)
    assert get_file(origin=url) == str(home / "datasets" / "archive-name.npz")


def test_cache_dir_and_subdir(home, site, tmp_path):
    url = site.add("/f.bin", PAYLOAD)
    assert get_file("f.bin", url, cache_subdir="models") == str(home / "models" / "f.bin")
    other = tmp_path / "elsewhere"
    assert get_file("f.bin", url, cache_dir=str(other)) == str(other / "datasets" / "f.bin")
    absolute = tmp_path / "absolute"
    assert get_file("f.bin", url, cache_subdir=str(absolute)) == str(absolute / "f.bin")


def test_data_dir_env_var_replaces_home_datasets(home, site, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUKERAS_DATA_DIR", str(tmp_path / "data"))
    url = site.add("/f.bin", PAYLOAD)
    assert get_file("f.bin", url) == str(tmp_path / "data" / "f.bin")
    nested = get_file("f.bin", url, cache_subdir=os.path.join("datasets", "sub"))
    assert nested == str(tmp_path / "data" / "sub" / "f.bin")
    assert get_file("f.bin", url, cache_subdir="models") == str(home / "models" / "f.bin")


def test_default_home_is_dot_gpukeras(tmp_path, monkeypatch, site):
    monkeypatch.delenv("GPUKERAS_HOME", raising=False)
    monkeypatch.delenv("GPUKERAS_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    url = site.add("/f.bin", PAYLOAD)
    assert get_file("f.bin", url) == str(tmp_path / ".gpukeras" / "datasets" / "f.bin")


def test_force_download(home, site):
    url = site.add("/f.bin", PAYLOAD)
    get_file("f.bin", url)
    get_file("f.bin", url, force_download=True)
    assert site.hits["/f.bin"] == 2


def test_md5_hashes_are_accepted(home, site):
    url = site.add("/f.bin", PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    get_file("f.bin", url, md5_hash=md5)
    get_file("f.bin", url, file_hash=md5, hash_algorithm="md5")
    get_file("f.bin", url, file_hash=md5)  # 'auto': 32 digits mean md5
    assert site.hits["/f.bin"] == 1


# -- wrong hashes ---------------------------------------------------------------------------
def test_corrupt_cached_file_is_removed_and_downloaded_again(home, site, capsys):
    url = site.add("/f.bin", PAYLOAD)
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "f.bin").write_bytes(PAYLOAD[:10])  # a truncated old copy
    path = get_file("f.bin", url, file_hash=sha256(PAYLOAD))
    assert open(path, "rb").read() == PAYLOAD and site.hits["/f.bin"] == 1
    assert "does not match" in capsys.readouterr().out


def test_wrong_download_is_refused_once_and_leaves_nothing(home, site):
    url = site.add("/f.bin", b"tampered")
    (home / "datasets").mkdir(parents=True)
    (home / "datasets" / "f.bin").write_bytes(b"stale")
    with pytest.raises(ValueError) as info:
        get_file("f.bin", url, file_hash=sha256(PAYLOAD))
    message = str(info.value)
    assert url in message and sha256(PAYLOAD) in message
    assert str(home / "datasets" / "f.bin") in message  # where to put a good copy
    assert site.hits["/f.bin"] == 1  # re-downloaded once, not in a loop
    assert not (home / "datasets" / "f.bin").exists()
    assert leftovers(home / "datasets") == []


def test_bad_hash_algorithm(home, site):
    with pytest.raises(ValueError, match="hash_algorithm"):
        get_file("f.bin", site.add("/f.bin", PAYLOAD), file_hash="00", hash_algorithm="sha1")


# -- failures -------------------------------------------------------------------------------
def test_interrupted_download_leaves_no_file(home, site):
    url = site.add("/big.bin", PAYLOAD)
    site.truncated.add("/big.bin")
    with pytest.raises(OSError) as info:
        get_file("big.bin", url)
    assert url in str(info.value)
    assert not (home / "datasets" / "big.bin").exists()
    assert leftovers(home / "datasets") == []


def test_http_error_names_url_and_where_to_put_the_file(home, site):
    url = site.url("/missing.bin")
    with pytest.raises(OSError) as info:
        get_file("missing.bin", url)
    message = str(info.value)
    assert "HTTP 404" in message and url in message
    assert str(home / "datasets" / "missing.bin") in message


def test_offline_error_names_url_and_where_to_put_the_file(home):
    url = closed_port_url("/mnist.npz")
    with pytest.raises(OSError) as info:
        get_file("mnist.npz", url)
    message = str(info.value)
    assert url in message and "offline" in message
    assert f"save it as {home / 'datasets' / 'mnist.npz'}" in message
    assert leftovers(home / "datasets") == []


def test_offline_archive_error_names_the_archive_path(home):
    url = closed_port_url("/cifar.tar.gz")
    with pytest.raises(OSError) as info:
        get_file("cifar-target", url, extract=True)
    assert str(home / "datasets" / "cifar-target_archive") in str(info.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"fname": "a.bin"}, "origin"),
        ({"fname": "sub/a.bin", "origin": "http://127.0.0.1:9/a"}, "fname"),
        ({"origin": "http://127.0.0.1:9/"}, "fname"),
    ],
)
def test_bad_arguments(home, kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_file(**kwargs)


# -- extraction -----------------------------------------------------------------------------
def tar_bytes(members: dict[str, bytes], mode="w:gz", links=()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target, kind in links:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_extract_tar_named_as_keras_names_it(home, site):
    url = site.add("/set.tar.gz", tar_bytes({"set/a.txt": b"A", "set/b/c.txt": b"C"}))
    folder = get_file("set-target", url, extract=True)
    assert folder == str(home / "datasets" / "set-target")
    assert (home / "datasets" / "set-target_archive").is_file()
    assert open(os.path.join(folder, "set", "b", "c.txt"), "rb").read() == b"C"
    dotted = get_file("set.tar.gz", url, extract=True)
    assert dotted == str(home / "datasets" / "set_extracted")
    unnamed = get_file(origin=url, extract=True)
    assert unnamed == str(home / "datasets" / "set.tar.gz")  # Keras's naming, odd as it is
    assert leftovers(home / "datasets") == []


def test_extraction_happens_once_per_download(home, site):
    url = site.add("/set.tar.gz", tar_bytes({"a.txt": b"A"}))
    folder = get_file("set", url, extract=True)
    marker = os.path.join(folder, "added-later")
    open(marker, "w").close()
    get_file("set", url, extract=True)
    assert os.path.exists(marker)  # not extracted again
    get_file("set", url, extract=True, force_download=True)
    assert not os.path.exists(marker)  # a new download is extracted afresh


def test_untar_and_zip(home, site):
    tar_url = site.add("/t.tar", tar_bytes({"x.txt": b"X"}, mode="w"))
    assert os.path.isfile(os.path.join(get_file("t", tar_url, untar=True), "x.txt"))
    zip_url = site.add("/z.zip", zip_bytes({"d/y.txt": b"Y"}))
    folder = get_file("z", zip_url, extract=True, archive_format="zip")
    assert open(os.path.join(folder, "d", "y.txt"), "rb").read() == b"Y"


def test_not_an_archive_is_a_clear_error(home, site):
    url = site.add("/plain.bin", PAYLOAD)
    with pytest.raises(ValueError, match="not a tar or zip archive"):
        get_file("plain", url, extract=True)


UNSAFE_TARS = {
    "absolute path": ({"/tmp/gpukeras-evil.txt": b"x"}, ()),
    "dot-dot": ({"ok.txt": b"fine", "../evil.txt": b"x"}, ()),
    "symlink out": ({}, (("link", "../../outside", tarfile.SYMTYPE),)),
    "absolute symlink": ({}, (("link", "/etc/passwd", tarfile.SYMTYPE),)),
    "hard link out": ({}, (("hard", "../outside.txt", tarfile.LNKTYPE),)),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_TARS))
def test_unsafe_tar_members_are_refused(home, site, tmp_path, case):
    members, links = UNSAFE_TARS[case]
    url = site.add("/evil.tar", tar_bytes(members, mode="w", links=links))
    with pytest.raises(ValueError, match="unsafe"):
        get_file("evil", url, extract=True)
    assert not (home / "datasets" / "evil").exists()  # nothing half-extracted
    assert not (home / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert leftovers(home / "datasets") == []


def test_link_to_dot_cannot_be_used_to_climb_out(home, site, tmp_path):
    # "here" -> "." is harmless alone, but "here/../x" would land outside the folder.
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        link = tarfile.TarInfo("here")
        link.type, link.linkname = tarfile.SYMTYPE, "."
        tar.addfile(link)
        escape = tarfile.TarInfo("here/../escaped.txt")
        escape.size = 1
        tar.addfile(escape, io.BytesIO(b"x"))
    url = site.add("/dot.tar", archive.getvalue())
    with pytest.raises(ValueError, match="unsafe"):
        get_file("dot", url, extract=True)
    assert not (home / "datasets" / "escaped.txt").exists()


def test_safe_internal_symlink_is_kept(home, site):
    url = site.add(
        "/ok.tar",
        tar_bytes({"d/a.txt": b"A"}, mode="w", links=(("alias", "d/a.txt", tarfile.SYMTYPE),)),
    )
    folder = get_file("ok", url, extract=True)
    assert open(os.path.join(folder, "alias"), "rb").read() == b"A"


def test_unsafe_zip_members_are_refused(home, site):
    url = site.add("/evil.zip", zip_bytes({"ok.txt": b"1", "../evil.txt": b"x"}))
    with pytest.raises(ValueError, match="unsafe"):
        get_file("evil", url, extract=True)
    assert not (home / "datasets" / "evil").exists()
    assert not (home / "evil.txt").exists()
