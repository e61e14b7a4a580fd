#!/usr/bin/busybox sh
# The QEMU guest's /init (tools/qemu/image.py puts it in the initramfs): the kernel's modules,
# the network to the host's peripherals, the TSE card and the terminal's storage, then the
# firmware on the runtime this image has. Its output goes to the first serial line.
export PATH=/usr/bin:/usr/sbin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod /modules/$m; done
# QEMU's user network: the guest is 10.0.2.15, the host (its loopback) 10.0.2.2
ifconfig lo 127.0.0.1 up
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up
route add default gw 10.0.2.2
# two disks: the TSE card (an MBR and a FAT volume holding TSE_COMM.DAT) and the storage
n=0
while [ ! -b /dev/vda ] || [ ! -b /dev/vdb ]; do
  sleep 0.05; n=$((n + 1)); [ $n -gt 400 ] && break
done
tse=
for dev in /dev/vda1 /dev/vdb1 /dev/vda /dev/vdb; do
  [ -b $dev ] || continue
  if mount -t vfat -o iocharset=utf8 $dev /mnt/tse 2>/dev/null; then
    if [ -e /mnt/tse/TSE_COMM.DAT ]; then tse=$dev; break; fi
    umount /mnt/tse
  fi
done
data=/dev/vda
case "$tse" in /dev/vda*) data=/dev/vdb ;; esac
mount -t vfat -o iocharset=utf8,flush "$data" /mnt/data
runtime=$(cat /etc/runtime)
echo "smartECR guest: $(uname -m) $(uname -r), $runtime, TSE card $(grep /mnt/tse /proc/mounts | cut -d' ' -f1)"
cd /opt/smartecr
export MICROPYPATH=/opt/smartecr:/usr/lib/micropython PYTHONPATH=/opt/smartecr
python=python3
[ "$runtime" = micropython ] && python="micropython -X heapsize=16M"
if [ -e /mnt/data/run ]; then
  # a job instead of the firmware (make demo TARGET=qemu): its arguments on the data disk, its
  # stdin and stdout the service console's line (raw: the host talks to it line by line)
  stty -F /dev/hvc0 raw -echo
  $python $(cat /mnt/data/run) < /dev/hvc0 > /dev/hvc0
  echo "smartECR guest: the run ended ($?)"
else
  $python -m firmware --config /mnt/data/config.json
  echo "smartECR guest: the firmware ended ($?)"
fi
sync
poweroff -f
