#!/usr/bin/env bash
# start.sh N [BASE] - start N separate ssh hosts, host1..hostN, on this one machine: each has its
# own hostname, its own home directory (its own disk: nothing it writes is seen by another host
# or by the caller) and its own sshd on its own loopback address 127.7.0.I. They share nothing
# but the network: the way a laptop sees a few lab workstations with no shared file system.
#
# Each host is an anchor process (a bash that reaps orphans, PID 1 of the host) in its own UTS,
# mount and PID namespaces, in which
# BASE/hosts/HOST/home is bind-mounted over /root and BASE/hosts/HOST/tmp over /tmp (so BASE,
# which usually lives under /tmp, is out of the hosts' sight); its sshd runs in those namespaces,
# so every ssh session and everything started from it (a detached run, its jobs) lives there
# too. PIDs and the rest of the filesystem (/usr, /etc, /var) are the machine's.
#
# BASE (default $SSHHOSTS_BASE, else ${TMPDIR:-/tmp}/sshhosts; not under /root) holds:
#   env.sh            `source` it: SSHHOSTS_BASE, SSHHOSTS_HOSTS, SSHHOSTS_SSH_CONFIG,
#                     SSHHOSTS_SSH (the ssh command line to reach the hosts), SSHHOSTS_PORT
#   client/           the caller's key, known_hosts and ssh_config (Host host1 ... entries)
#   hosts/HOST/home   HOST's disk, as HOST sees it at /root (read results here from outside)
#   hosts/HOST/       anchor (PID), ns (namespace ids), sshd_config, sshd.pid, sshd.log, keys
#
# Knobs: SSHHOSTS_HIDE_ON="host3"  the hosts SSHHOSTS_HIDE applies to (default: all)
#        SSHHOSTS_HIDE="rsync python3"  commands the hosts do not have (an overlay with a
#        whiteout hides each in the hosts' mount namespaces): a host you cannot install things on.
#        SSHHOSTS_MESH=1  the hosts can also ssh to each other by name (key and config in their
#        own ~/.ssh); without it only the caller reaches them.
# Root only. Installs openssh-server and openssh-client with apt-get if missing. Never touches
# /etc/ssh or ~/.ssh. Refuses to start over an existing BASE: run stop.sh first.
set -euo pipefail

n=${1:-}
[[ $n =~ ^[1-9][0-9]?$ ]] || { sed -n '2,5p' "$0" >&2; exit 2; }
[[ -n ${2:-} ]] && export SSHHOSTS_BASE=$2
source "$(dirname "$0")/lib.sh"
t0=$(date +%s.%N)

[[ $(id -u) -eq 0 ]] || die "must run as root"
case $BASE/ in /root/*) die "BASE=$BASE is under /root, which each host covers with its own home";; esac
if [[ -e $BASE ]]; then
    for f in "$BASE"/hosts/*/anchor; do
        [[ -s $f ]] && alive "$(<"$f")" && die "a setup is already running in $BASE; run stop.sh $BASE first"
    done
    die "$BASE already exists (left from an earlier run?); run stop.sh $BASE first"
fi
mkdir -p "$BASE"/{client,hosts}
touch "$BASE/.sshhosts"   # stop.sh only deletes directories that carry this marker
done_ok=0   # set at the very end; until then the EXIT trap undoes a half-made setup
trap '((done_ok)) || { say "start failed; cleaning up"; bash "$SH_HERE/stop.sh" "$BASE" >/dev/null 2>&1 || true; }' EXIT

# ---- 1. packages (apt-get update only when something is missing)
missing=()
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
command -v ssh >/dev/null || missing+=(openssh-client)
if ((${#missing[@]})); then
    say "installing ${missing[*]} (apt-get)"
    added_policy=0   # keep the package scripts from starting the system's own sshd
    [[ -e /usr/sbin/policy-rc.d ]] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
                                        chmod 755 /usr/sbin/policy-rc.d; added_policy=1; }
    rc=0
    { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
          --no-install-recommends "${missing[@]}"; } >"$BASE/apt.log" 2>&1 || rc=$?
    ((added_policy)) && rm -f /usr/sbin/policy-rc.d
    ((rc == 0)) || { tail -n 20 "$BASE/apt.log" >&2; die "apt-get failed (rc=$rc)"; }
fi
if [[ ! -d /run/sshd ]]; then   # sshd's privilege separation directory
    mkdir -m 755 /run/sshd && touch "$BASE/made-run-sshd"
fi
[[ -d $SELF ]] || mkdir -m 755 "$SELF"   # an empty mount point here; each host binds its own

# ---- 2. the caller's key; one free port, used by every host on its own address
ssh-keygen -q -t ed25519 -N '' -C sshhosts-client -f "$BASE/client/id_ed25519"
cp "$BASE/client/id_ed25519.pub" "$BASE/client/authorized_keys"
port=
for _ in {1..50}; do
    p=$((20000 + RANDOM % 40000))
    used=$(ss -Htln 2>/dev/null | awk '{print $4}')   # (captured: no `| grep -q` under pipefail)
    if ! grep -qE "(^|[:.])$p\$" <<<"$used"; then port=$p; break; fi
done
[[ -n $port ]] || die "no free port found"

# ---- 3. hosts: anchors in new UTS + mount namespaces, each with its own home over /root
hosts=()
for i in $(seq 1 "$n"); do
    h=host$i; hosts+=("$h"); d=$BASE/hosts/$h
    mkdir -p "$d/home/.ssh" "$d/tmp"
    chmod 700 "$d/home"; chmod 1777 "$d/tmp"
    # hidden commands: an overlay on each of their directories whose upper layer holds a
    # whiteout for them, so that they are simply not there (command -v fails, exit 127)
    hide=()
    # (every copy in the system directories; /root is the host's own home, so nothing there)
    # SSHHOSTS_HIDE_ON="host3": hide them on these hosts only (default: every host)
    hidden=${SSHHOSTS_HIDE:-}
    [[ -z ${SSHHOSTS_HIDE_ON:-} || " $SSHHOSTS_HIDE_ON " == *" $h "* ]] || hidden=
    for c in $hidden; do
        for sysdir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
            [[ -e $sysdir/$c ]] || continue
            dir=$(realpath "$sysdir"); key=${dir//\//_}
            mkdir -p "$d/hide/$key/up" "$d/hide/$key/work"
            [[ -e $d/hide/$key/up/$c ]] || mknod "$d/hide/$key/up/$c" c 0 0
            [[ " ${hide[*]} " == *" $key:$dir "* ]] || hide+=("$key:$dir")
        done
    done
    # inside: its own home over /root, its own /tmp, its own directory at $SELF (where its sshd
    # finds its config and keys once /tmp, which may hold BASE, is covered), its own PIDs (/proc
    # shows only the host's processes); the anchor is the host's PID 1, a bash that reaps orphans
    setsid unshare --uts --mount --pid --fork --mount-proc --propagation private -- bash -c '
        hostname "$0" &&
        for kd in $2; do k=${kd%%:*} dir=${kd#*:}
            mount -t overlay overlay -o "lowerdir=$dir,upperdir=$1/hide/$k/up,workdir=$1/hide/$k/work" "$dir" || exit 1
        done &&
        mount --bind "$1" "$3" && mount --bind "$1/home" /root && mount --bind "$1/tmp" /tmp &&
        touch "$3/ready" || exit 1
        exec </dev/null >/dev/null 2>&1
        while :; do sleep 3600; done' \
        "$h" "$d" "${hide[*]}" "$SELF" </dev/null >"$d/anchor.log" 2>&1 &
    echo $! >"$d/unshare.pid"
done
for i in $(seq 1 "$n"); do   # record every host's namespaces first: stop.sh finds them by these
    h=host$i; d=$BASE/hosts/$h; u=$(<"$d/unshare.pid")
    for _ in {1..100}; do [[ -e $d/ready ]] && break; sleep 0.05; done
    a=$(cat "/proc/$u/task/$u/children" 2>/dev/null | awk '{print $1}')
    [[ -e $d/ready && -n $a ]] || { cat "$d/anchor.log" >&2; die "host $h did not start"; }
    echo "$a" >"$d/anchor"
    printf '%s\n%s\n' "$(readlink "/proc/$a/ns/uts")" "$(readlink "/proc/$a/ns/mnt")" >"$d/ns"
done

# ---- 4. one sshd per host, in the host's namespaces, on 127.7.0.I:port
: >"$BASE/client/known_hosts"
: >"$BASE/client/ssh_config"
for i in $(seq 1 "$n"); do
    h=host$i; d=$BASE/hosts/$h; addr=127.7.0.$i
    ssh-keygen -q -t ed25519 -N '' -C "sshhosts-$h" -f "$d/host_key"
    cp "$BASE/client/id_ed25519.pub" "$d/authorized_keys"
    cat >"$d/sshd_config" <<EOS
ListenAddress $addr:$port
HostKey $SELF/host_key
PidFile $SELF/sshd.pid
AuthorizedKeysFile $SELF/authorized_keys
StrictModes no
AllowUsers root
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
AllowTcpForwarding no
X11Forwarding no
MaxStartups 100
MaxSessions 64
EOS
    start_sshd "$h"
    echo "[$addr]:$port $(cut -d' ' -f1,2 "$d/host_key.pub")" >>"$BASE/client/known_hosts"
    cat >>"$BASE/client/ssh_config" <<EOS
Host $h
  HostName $addr
  Port $port
  User root
  IdentityFile $BASE/client/id_ed25519
  IdentitiesOnly yes
  BatchMode yes
  UserKnownHostsFile $BASE/client/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  ConnectTimeout 5
  LogLevel ERROR

EOS
done
# ---- 4b. SSHHOSTS_MESH=1: every host can ssh to every other by name (its own ~/.ssh)
if [[ ${SSHHOSTS_MESH:-0} == 1 ]]; then
    for h in "${hosts[@]}"; do
        hs=$BASE/hosts/$h/home/.ssh
        cp "$BASE/client/id_ed25519" "$BASE/client/id_ed25519.pub" "$BASE/client/known_hosts" "$hs/"
        sed -e "s|IdentityFile .*|IdentityFile ~/.ssh/id_ed25519|" \
            -e "s|UserKnownHostsFile .*|UserKnownHostsFile ~/.ssh/known_hosts|" \
            "$BASE/client/ssh_config" >"$hs/config"
        chmod 600 "$hs/id_ed25519" "$hs/config"
    done
fi
{
    printf 'export SSHHOSTS_BASE=%q\n' "$BASE"
    printf 'export SSHHOSTS_HOSTS=%q\n' "${hosts[*]}"
    printf 'export SSHHOSTS_PORT=%q\n' "$port"
    printf 'export SSHHOSTS_SSH_CONFIG=%q\n' "$BASE/client/ssh_config"
    printf 'export SSHHOSTS_SSH=%q\n' "ssh -F $BASE/client/ssh_config"
} >"$BASE/env.sh"

# ---- 5. every host answers with its own name
for h in "${hosts[@]}"; do
    got=$(ssh -F "$BASE/client/ssh_config" "$h" hostname 2>"$BASE/hosts/$h/first-ssh.log") \
        || { cat "$BASE/hosts/$h/first-ssh.log" "$BASE/hosts/$h/sshd.log" >&2; die "ssh to $h failed"; }
    [[ $got == "$h" ]] || die "ssh to $h answered '$got'"
    printf '%s  %s:%s  home %s\n' "$h" "$(grep -m1 HostName <(sed -n "/^Host $h\$/,/^\$/p" "$BASE/client/ssh_config") | awk '{print $2}')" \
        "$port" "$BASE/hosts/$h/home"
done
# shellcheck disable=SC2034  # read by the EXIT trap
done_ok=1
say "$n hosts up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
say "next: source $BASE/env.sh; \$SSHHOSTS_SSH host1 hostname; bash $SH_HERE/stop.sh $BASE"
