# What tests/remote/{steal,steal_faults,steal_mesh}.sh share, sourced after lib.sh and
# start_hosts: the 3 hosts' disks ($HOSTS), the study of 3 machines of speeds 1, 2, 4 whose
# jobs sleep BASE / the factor in their host's own ~/speed and append their index to ~/marker
# on its disk (seed = $NAME), and the checks on those markers and on results.csv.

HOSTS=$SSHHOSTS_BASE/hosts
J=$BIN

speeds() { # the speeds 1, 2, 4 on each host's own disk, the markers gone
    for i in 1 2 3; do echo $((1 << (i - 1))) >"$HOSTS/host$i/home/speed"; done
    rm -f "$HOSTS"/host*/home/marker
}
write_study() { # write_study DIR JOBS BASE-SECONDS
    local d=$1
    mkdir -p "$d/lib"
    seq 0 $(($2 - 1)) >"$d/jobs.txt"
    cat >"$d/machines.json" <<'EOF2'
{"slow": {"weight": 1, "cores": 1, "ssh": "host1"},
 "mid": {"weight": 1, "cores": 1, "ssh": "host2"},
 "fast": {"weight": 1, "cores": 1, "ssh": "host3"}}
EOF2
    printf '#!/bin/sh\nsleep $(awk "BEGIN { print %s / $(cat ~/speed) }")\necho "$1" >> ~/marker\n' "$3" >"$d/lib/job.sh"
    cat >"$d/jobsplit.toml" <<EOF2
seed = "$NAME"
[jobs]
file = "jobs.txt"
command = "sh lib/job.sh {}"
[run]
out = "out"
[ship]
files = ["lib/"]
EOF2
}
mkstudy() { # mkstudy DIR JOBS BASE-SECONDS: the study written, the speeds set, the markers gone, cd DIR
    write_study "$@"
    speeds
    cd "$1" || exit 1
}
markers() { # every host's marker lines, sorted
    for i in 1 2 3; do cat "$HOSTS/host$i/home/marker" 2>/dev/null; done | sort -n
}
once() { # once N: the markers hold 0..N-1 exactly once each
    cmp -s <(markers) <(seq 0 $(($1 - 1)))
}
oks() { awk -F, 'NR > 1 && $4 == "ok" { print $1 }' "$1" | sort -n | uniq | wc -l; }
rows() { awk -F, 'NR > 1 && $4 == "ok"' "$1" | wc -l; }
merged_once() { # merged_once N: merged/results.csv has N ok rows, one per job
    test "$(oks merged/results.csv)" -eq "$1" -a "$(rows merged/results.csv)" -eq "$1"
}
running() { # running HOSTN: a jobsplit run is alive in that host
    bash "$SH/on.sh" "host$1" pgrep -f 'jobsplit-x86_64 run' >/dev/null 2>&1
}
layout_of() { # layout_of HOSTN STUDY: the layout directory on that host's disk
    ls -d "$HOSTS/host$1/home/jobsplit/$2/out/.jobsplit"/steal-* 2>/dev/null | head -1
}
