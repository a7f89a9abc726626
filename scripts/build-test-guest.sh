#!/usr/bin/env bash
# Builds the test guest: a small BIOS-bootable raw disk (syslinux on a FAT
# partition) holding Debian's kernel and a busybox initramfs. Nothing is
# installed on the host: the Debian packages are downloaded and unpacked in
# a scratch directory.
#
# The guest's init, on the serial console (ttyS0):
#   PLATTER-GUEST: booted <kernel release>
#   PLATTER-GUEST: disk <name> size=<bytes> sha256_1m=<sha256 of its first MiB>
#       for every virtio disk present at boot or hot-plugged later
#   PLATTER-GUEST: disk <name> removed
# and it obeys lines typed on the console:
#   write <disk> <byte> <MiB>   fills the disk's first <MiB> MiB with <byte>, then prints
#   PLATTER-GUEST: wrote <disk> <byte> <MiB> sha256_1m=<...>
#
#   scripts/build-test-guest.sh [OUTPUT]   (default target/test-guest/guest.raw)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/test-guest/guest.raw}"
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

KPKG="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')"
[ -n "$KPKG" ] || { echo "no linux-image package found" >&2; exit 1; }
apt-get download -qq "$KPKG" busybox-static syslinux syslinux-common mtools dosfstools 2>/dev/null
mkdir x
for deb in ./*.deb; do dpkg-deb -x "$deb" x; done
KVER="$(ls x/lib/modules)"
export PATH="$WORK/x/usr/bin:$WORK/x/sbin:$WORK/x/usr/sbin:$PATH"
BB="$WORK/x/bin/busybox"

# The initramfs: busybox, the virtio modules, and init.
mkdir -p root/bin root/dev root/proc root/sys root/lib/modules
cp "$BB" root/bin/busybox
ln -s busybox root/bin/sh
# virtio-pci and virtio-blk with what they depend on, in load order (each
# module's `depends=` from its .modinfo).
python3 - "x/lib/modules/$KVER" root/lib/modules virtio_pci virtio_blk <<'PY'
import lzma, os, re, sys
tree, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
files = {}
for d, _, names in os.walk(tree):
    for n in names:
        base = n.split(".ko")[0]
        if ".ko" in n:
            files[base.replace("-", "_")] = os.path.join(d, n)
def read(name):
    path = files[name]
    data = open(path, "rb").read()
    return lzma.decompress(data) if path.endswith(".xz") else data
order = []
def visit(name):
    if name in order:
        return
    m = re.search(rb"depends=([^\x00]*)\x00", read(name))
    for dep in filter(None, (m.group(1).decode().split(",") if m else [])):
        visit(dep.replace("-", "_"))
    order.append(name)
for w in wanted:
    visit(w)
for name in order:
    open(os.path.join(dest, name + ".ko"), "wb").write(read(name))
open(os.path.join(dest, "order"), "w").write("\n".join(order) + "\n")
PY
cat > root/init <<'INIT'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "PLATTER-GUEST: $*" > /dev/console; }
for m in $(cat /lib/modules/order); do
    err=$(insmod /lib/modules/$m.ko 2>&1) || say "module $m: $err"
done
first_mib() { dd if=/dev/$1 bs=1048576 count=1 2>/dev/null | sha256sum | cut -d' ' -f1; }
say "booted $(uname -r)"

# Commands typed on the console.
(
    while read -r cmd disk byte mib; do
        case "$cmd" in
            write)
                oct=$(printf '%o' "$byte")
                # A whole MiB in a file first: dd reads a pipe short.
                head -c 1048576 /dev/zero | tr '\000' "\\$oct" > /pattern
                i=0
                while [ "$i" -lt "$mib" ]; do
                    dd if=/pattern of=/dev/$disk bs=1048576 seek=$i count=1 conv=fsync 2>/dev/null
                    i=$((i + 1))
                done
                sync
                say "wrote $disk $byte $mib sha256_1m=$(first_mib $disk)"
                ;;
            "") ;;
            *) say "unknown command $cmd" ;;
        esac
    done < /dev/console
) &

# Disks present at boot, then hot-plugged and unplugged ones.
seen=" "
while true; do
    for d in /sys/block/vd*; do
        [ -e "$d" ] || continue
        n=${d##*/}
        case "$seen" in *" $n "*) continue ;; esac
        seen="$seen$n "
        size=$(( $(cat "$d/size") * 512 ))
        say "disk $n size=$size sha256_1m=$(first_mib $n)"
    done
    for n in $seen; do
        if [ ! -e "/sys/block/$n" ]; then
            say "disk $n removed"
            seen=$(echo "$seen" | sed "s/ $n / /")
        fi
    done
    sleep 0.5
done
INIT
chmod +x root/init
(cd root && find . | "$BB" cpio -o -H newc 2>/dev/null) | gzip -9 > initrd.gz

# A FAT partition with the kernel, the initramfs and syslinux.
cat > syslinux.cfg <<'CFG'
DEFAULT platter
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL platter
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0,115200 quiet loglevel=3 panic=-1
CFG
PART_MIB=48
START=2048
mkfs.vfat -C -F 16 -h "$START" -n PLATTER part.img $((PART_MIB * 1024)) >/dev/null
mcopy -i part.img "x/boot/vmlinuz-$KVER" ::/vmlinuz
mcopy -i part.img initrd.gz ::/initrd.gz
mcopy -i part.img syslinux.cfg ::/syslinux.cfg
syslinux --install part.img

# The disk: an MBR (syslinux's boot code, one active FAT16 partition at
# sector 2048), then the partition.
python3 - "$WORK/x/usr/lib/syslinux/mbr/mbr.bin" disk.img "$START" "$PART_MIB" <<'PY'
import struct, sys
mbr_code, out, start, part_mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sectors = part_mib * 2048
mbr = bytearray(512)
code = open(mbr_code, "rb").read()[:440]
mbr[:len(code)] = code
# Active, CHS fields unused (0xfe/0xff/0xff: LBA only), type 0x0e (FAT16 LBA).
entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0E, b"\xfe\xff\xff", start, sectors)
mbr[446:462] = entry
mbr[510:512] = b"\x55\xaa"
with open(out, "wb") as f:
    f.write(mbr)
    f.truncate((start + sectors) * 512)
PY
dd if=part.img of=disk.img bs=512 seek="$START" conv=notrunc status=none
mv disk.img "$OUT"
echo "$OUT ($(du -h --apparent-size "$OUT" | cut -f1), kernel $KVER)"
