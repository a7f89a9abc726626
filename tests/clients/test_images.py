"""Issue 11's image acceptance with independent tools, bytes compared by
sha256: raw and qcow2 images uploaded with `openstack image create`,
volumes created from them and read over NBD with nbdcopy, a volume
uploaded with `openstack image create --volume` and saved back with
`openstack image save` and `glance image-download`, and the bad inputs
refused with a clear 4xx."""

import hashlib
import os
import shutil
import subprocess

import pytest

from conftest import openstack, run, wait_for
from test_cinder_admin_cli import cinder
from test_replication import with_nbd

MIB = 1 << 20
CONNECTOR = {"host": "image-tests", "ip": "127.0.0.1", "initiator": None}


def sha256(path, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = length if length is not None else os.path.getsize(path)
        while left > 0:
            chunk = f.read(min(MIB, left))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def read_volume(c, volume_id, dest):
    """The volume's whole content into `dest`, with nbdcopy over its export."""
    att = c.attachments.create(volume_id, CONNECTOR, mode="rw")
    uri = att["connection_info"]["data"]["uri"]
    try:
        run(["nbdcopy", uri, dest], {})
    finally:
        c.attachments.delete(att["id"])
    wait_for(lambda: c.volumes.get(volume_id).status, "available")


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    """A 3 MiB raw disk of random bytes with a hole, and its qcow2."""
    d = tmp_path_factory.mktemp("disks")
    raw = d / "disk.raw"
    data = bytearray(os.urandom(3 * MIB))
    data[MIB:2 * MIB] = bytes(MIB)
    raw.write_bytes(bytes(data))
    qcow2 = d / "disk.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
                   check=True)
    yield d, raw, qcow2
    shutil.rmtree(d, ignore_errors=True)


def test_raw_and_qcow2_images_make_volumes_with_their_bytes(platter, disks):
    d, raw, qcow2 = disks
    env = platter.env()
    c = cinder(platter, version="3.54")
    for fmt, path in [("raw", raw), ("qcow2", qcow2)]:
        img = openstack(env, "image", "create", "--file", str(path), "--disk-format", fmt,
                        "--container-format", "bare", f"img-{fmt}")
        assert img["status"] == "active" and img["size"] == os.path.getsize(path)
        assert img["checksum"] == hashlib.md5(path.read_bytes()).hexdigest()
        assert img["virtual_size"] == 3 * MIB
        # The data comes back as uploaded.
        saved = d / f"saved.{fmt}"
        run(["openstack", "image", "save", "--file", str(saved), f"img-{fmt}"], env)
        assert sha256(saved) == sha256(path)
        # A volume from it holds the disk's bytes, then zeros.
        v = openstack(env, "volume", "create", "--image", f"img-{fmt}", "--size", "1", f"from-{fmt}")
        wait_for(lambda: openstack(env, "volume", "show", v["id"])["status"], "available")
        shown = openstack(env, "volume", "show", v["id"])
        assert shown["bootable"] in ("true", True)
        meta = shown["volume_image_metadata"]
        assert meta["image_id"] == img["id"] and meta["disk_format"] == fmt
        assert meta["image_name"] == f"img-{fmt}"
        out = d / f"volume-{fmt}.raw"
        read_volume(c, v["id"], str(out))
        assert os.path.getsize(out) == 1 << 30
        assert sha256(out, 3 * MIB) == sha256(raw)
        with open(out, "rb") as f:
            f.seek(3 * MIB)
            assert f.read(MIB) == bytes(MIB)


def test_a_volume_uploaded_to_an_image_saves_back_to_its_bytes(platter, disks):
    d, raw, _ = disks
    env = platter.env()
    c = cinder(platter, version="3.54")
    v = openstack(env, "volume", "create", "--size", "1", "up-src")
    wait_for(lambda: openstack(env, "volume", "show", v["id"])["status"], "available")
    with_nbd(c, v["id"], "write -P 0x5a 0 1M", "write -P 0xa5 1020M 4M", "flush")
    volume_bytes = d / "up-src.raw"
    read_volume(c, v["id"], str(volume_bytes))
    for fmt in ["raw", "qcow2"]:
        up = openstack(env, "image", "create", "--volume", v["id"], "--disk-format", fmt,
                       f"up-{fmt}")
        assert up["status"] == "uploading" and up["disk_format"] == fmt
        wait_for(lambda: openstack(env, "image", "show", f"up-{fmt}")["status"], "active")
        wait_for(lambda: openstack(env, "volume", "show", v["id"])["status"], "available")
        saved = d / f"up.{fmt}"
        run(["openstack", "image", "save", "--file", str(saved), f"up-{fmt}"], env)
        if fmt == "qcow2":
            info = run(["qemu-img", "info", "--output=json", str(saved)], {})[1]
            assert '"format": "qcow2"' in info
            converted = d / "up-qcow2.raw"
            run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(saved), str(converted)], {})
            os.unlink(saved)
            saved = converted
        assert sha256(saved) == sha256(volume_bytes)
        os.unlink(saved)
    # glanceclient downloads it too, verifying the hash it is given.
    image_id = openstack(env, "image", "show", "up-raw")["id"]
    got = d / "glance.raw"
    run(["glance", "image-download", "--file", str(got), image_id], env)
    assert sha256(got) == sha256(volume_bytes)
    # Gigabyte files go as soon as they are compared: CI's disk is small.
    os.unlink(got)
    os.unlink(volume_bytes)


def test_bad_input_is_refused_with_a_clear_4xx(platter, disks):
    d, raw, qcow2 = disks
    env = platter.env()
    # qcow2 data declared raw: refused (openstacksdk then deletes the
    # record it made); no image of that name holds data.
    code, _, err = run(["openstack", "image", "create", "--file", str(qcow2), "--disk-format",
                        "raw", "lying"], env, check=False)
    assert code != 0 and "does not match its disk_format raw" in err, err
    lying = [i for i in openstack(env, "image", "list", "--long") if i["Name"] == "lying"]
    assert all(i["Status"] == "queued" for i in lying), lying
    # An image larger than the volume asked for: 400 before anything is made.
    big = d / "big.qcow2"
    run(["qemu-img", "create", "-f", "qcow2", str(big), "1536M"], {})
    made = openstack(env, "image", "create", "--file", str(big), "--disk-format", "qcow2", "big")
    assert made["virtual_size"] == 1536 * MIB
    code, _, err = run(["openstack", "volume", "create", "--image", "big", "--size", "1", "small"],
                       env, check=False)
    assert code != 0 and "400" in err, err
    assert not [v for v in openstack(env, "volume", "list") if v["Name"] == "small"]
    # An unknown disk format: 400.
    code, _, err = run(["openstack", "image", "create", "--disk-format", "ploop", "odd"], env,
                       check=False)
    assert code != 0
    # Upload to a deleted image: 404.
    img = openstack(env, "image", "create", "--disk-format", "raw", "--container-format", "bare",
                    "gone", "--file", "/dev/null")
    run(["openstack", "image", "delete", "gone"], env)
    code, _, err = run(["glance", "image-upload", "--file", str(raw), img["id"]], env,
                       check=False)
    assert code != 0 and "404" in err, err
    # A protected image is not deleted (403), then is once unprotected.
    run(["openstack", "image", "set", "--protected", "big"], env)
    code, _, err = run(["openstack", "image", "delete", "big"], env, check=False)
    assert code != 0 and "is protected" in err, err
    run(["openstack", "image", "set", "--unprotected", "big"], env)
    run(["openstack", "image", "delete", "big"], env)


def test_platter_image_import_uploads_a_file(platter, disks):
    from conftest import platter_binary
    d, _, qcow2 = disks
    env = platter.env()
    _, out, err = run([platter_binary(), "image", "import", str(qcow2), "--name", "imported"], env)
    image_id, status = out.split()[:2]
    assert status == "active", out + err
    shown = openstack(env, "image", "show", image_id)
    assert shown["disk_format"] == "qcow2" and shown["name"] == "imported"
    assert shown["virtual_size"] == 3 * MIB
    saved = d / "imported.qcow2"
    run(["openstack", "image", "save", "--file", str(saved), "imported"], env)
    assert sha256(saved) == sha256(qcow2)
    # The data is checked against the declared format.
    code, _, err = run([platter_binary(), "image", "import", str(qcow2), "--name", "liar",
                        "--disk-format", "raw"], env, check=False)
    assert code != 0 and "does not match its disk_format raw" in err, err
