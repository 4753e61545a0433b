#!/usr/bin/env bash
# The multi-host test lab: N hosts on one machine, each a network namespace with its own
# sshd and its own /tmp, joined by a bridge to the manager (the root namespace).
#
#   lab.sh up N           create (or re-create) the lab with N hosts; prints lab.json
#   lab.sh down           remove everything the lab created (idempotent)
#   lab.sh status         print lab.json, or say the lab is down (exit 1)
#   lab.sh pids HOST      "pid args" of every process in HOST's network namespace
#   lab.sh exec HOST CMD  run CMD in HOST's network and mount namespaces, as sshd sees them
#
# Environment: LAB_PREFIX (default lzc), LAB_SUBNET (first three octets, default 10.213.0),
# LAB_STATE (default /var/lib/lazycluster-lab, or /var/lib/lazycluster-lab-PREFIX for any
# other prefix so two labs never share keys), LAB_TIMEOUT (seconds to wait for sshd, 20),
# LAB_SSHD (the sshd binary, default /usr/sbin/sshd), LAB_OWNER_PID (the process that holds
# the lab: while it lives, up and down from any other process fail with exit code 75 instead
# of pulling the lab from under it; LAB_FORCE=1 overrides).
set -euo pipefail

SSHD=${LAB_SSHD:-/usr/sbin/sshd}
readonly MARKER=.lazycluster-lab
readonly MAX_HOSTS=200

PREFIX=${LAB_PREFIX:-lzc}
SUBNET=${LAB_SUBNET:-10.213.0}
if [[ -n ${LAB_STATE:-} ]]; then
  STATE=$LAB_STATE
elif [[ $PREFIX == lzc ]]; then
  STATE=/var/lib/lazycluster-lab
else
  STATE=/var/lib/lazycluster-lab-$PREFIX
fi
TIMEOUT=${LAB_TIMEOUT:-20}
BRIDGE=$PREFIX-br0

log() { printf 'lab[%s]: %s\n' "$PREFIX" "$*" >&2; }
die() { printf 'lab[%s]: error: %s\n' "$PREFIX" "$*" >&2; exit 1; }

validate() {
  # Interface names are at most 15 characters: "PREFIX-v200" with an 8-character prefix is 13.
  [[ $PREFIX =~ ^[a-z][a-z0-9]{0,7}$ ]] ||
    die "LAB_PREFIX '$PREFIX' must be 1-8 lowercase letters or digits, starting with a letter"
  [[ $SUBNET =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] ||
    die "LAB_SUBNET '$SUBNET' must be the first three octets of an IPv4 /24, e.g. 10.213.0"
  local octet
  for octet in "${BASH_REMATCH[@]:1}"; do
    ((10#$octet <= 255)) || die "LAB_SUBNET '$SUBNET' has an octet above 255"
  done
  # sshd starts after /tmp is replaced by a private tmpfs, so it could not read its own
  # config there; a restricted character set keeps ssh_config and JSON free of quoting.
  [[ $STATE =~ ^/[A-Za-z0-9._/+-]+$ ]] ||
    die "LAB_STATE '$STATE' must be an absolute path of letters, digits and ._/+-"
  [[ $STATE != /tmp && $STATE != /tmp/* ]] ||
    die "LAB_STATE '$STATE' must be outside /tmp: every lab host has its own private /tmp"
  [[ $STATE != / && ${STATE%/} != "" ]] || die "LAB_STATE must not be /"
  [[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "LAB_TIMEOUT '$TIMEOUT' must be a whole number of seconds"
}

# Serialises up/down across all labs on this machine; the lock is the script file itself,
# so nothing is left behind. Fd 9 is closed for every long-lived child (sshd).
lock() {
  exec 9<"${BASH_SOURCE[0]}"
  flock -w 120 9 || die "another lab.sh up/down has held the lock for 120 s"
}

netns_name() { printf '%s-h%s' "$PREFIX" "$1"; }
host_dir() { printf '%s/hosts/h%s' "$STATE" "$1"; }

# Index i of a host name h<i>, after checking that the lab has such a host.
host_index() {
  local host=$1
  [[ $host =~ ^h([1-9][0-9]*)$ ]] || die "unknown host '$host': lab hosts are named h1, h2, ..."
  local i=${BASH_REMATCH[1]}
  [[ -f $STATE/lab.json ]] || die "the lab is down (no $STATE/lab.json); run: lab.sh up N"
  [[ -d $(host_dir "$i") ]] || die "the lab has no host '$host' (see $STATE/lab.json)"
  printf '%s' "$i"
}

# True when pid is alive and not a zombie.
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# The pid of a host's sshd listener, checked to still be the process inside its netns
# (a recycled pid must never be entered or killed).
sshd_pid() {
  local i=$1 pid ns
  pid=$(cat "$(host_dir "$i")/sshd.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  ns=$(netns_name "$i")
  [[ -e /run/netns/$ns ]] || return 1
  [[ $(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null) == "$(stat -L -c %i "/run/netns/$ns")" ]] || return 1
  printf '%s' "$pid"
}

# Pids of every sshd run from this lab's state dir, also when its namespace is already gone.
# (The escaped pattern cannot match grep's own command line: "[" is not a digit.)
state_dir_sshd_pids() {
  local pattern
  pattern="${STATE//./\\.}"
  pattern="${pattern//+/\\+}/hosts/h[0-9]+/sshd_config"
  grep -lzsaE -- "$pattern" /proc/[0-9]*/cmdline 2>/dev/null | awk -F/ '{ print $3 }' || true
}

# Start time (clock ticks since boot) of a live pid, so a recycled pid is not taken for it.
start_time() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split the fields on purpose; field 22 is the 20th after ")".
  set -- $stat
  printf '%s' "${20}"
}

# Fails with exit code 75 (EX_TEMPFAIL) when a live process other than LAB_OWNER_PID holds the lab.
check_owner() {
  [[ -f $STATE/owner && ${LAB_FORCE:-} != 1 ]] || return 0
  local pid start
  read -r pid start <"$STATE/owner" || return 0
  [[ $pid =~ ^[0-9]+$ && $pid != "${LAB_OWNER_PID:-}" ]] || return 0
  alive "$pid" && [[ $(start_time "$pid") == "$start" ]] || return 0
  printf 'lab[%s]: error: the lab is in use by pid %s (%s); use another LAB_PREFIX, LAB_SUBNET and LAB_STATE for a second lab, or LAB_FORCE=1\n' \
    "$PREFIX" "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80)" >&2
  exit 75
}

lab_namespaces() { ip netns list 2>/dev/null | awk -v p="^$PREFIX-h[0-9]+\$" '$1 ~ p { print $1 }'; }
lab_veths() { ip -o link show 2>/dev/null | awk -F': ' -v p="^$PREFIX-v[0-9]+(@|\$)" '$2 ~ p { sub(/@.*/, "", $2); print $2 }'; }

# SIGKILL the given pids and wait (bounded) until none is alive, so the namespaces they hold
# are really released before they are deleted and made again.
kill_and_wait() {
  (($# > 0)) || return 0
  kill -KILL "$@" 2>/dev/null || true
  local deadline=$((SECONDS + 10)) pid left
  while :; do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    ((${#left[@]} == 0)) && return 0
    ((SECONDS < deadline)) || die "processes ${left[*]} survived SIGKILL"
    sleep 0.02
  done
}

# Remove whatever this prefix left: processes, namespaces, veths, bridge. Not the state dir.
clear_lab() {
  local -a pids=() namespaces veths
  local ns pid
  mapfile -t namespaces < <(lab_namespaces)
  for ns in "${namespaces[@]}"; do
    while read -r pid; do [[ -n $pid ]] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null || true)
  done
  while read -r pid; do [[ -n $pid ]] && pids+=("$pid"); done < <(state_dir_sshd_pids)
  mapfile -t pids < <(printf '%s\n' "${pids[@]}" | awk 'NF && !seen[$0]++')
  if ((${#pids[@]} > 0)); then
    log "killing ${#pids[@]} leftover process(es)"
    kill_and_wait "${pids[@]}"
  fi
  mapfile -t veths < <(lab_veths)
  if ((${#veths[@]} > 0 || ${#namespaces[@]} > 0)); then
    {
      for ns in "${veths[@]}"; do printf 'link del %s\n' "$ns"; done
      for ns in "${namespaces[@]}"; do printf 'netns del %s\n' "$ns"; done
    } | ip -force -batch - 2>/dev/null || true
  fi
  if ip link show "$BRIDGE" >/dev/null 2>&1; then ip link del "$BRIDGE"; fi
  [[ -z $(lab_namespaces) ]] || die "could not delete namespaces: $(lab_namespaces | tr '\n' ' ')"
  [[ -z $(lab_veths) ]] || die "could not delete veths: $(lab_veths | tr '\n' ' ')"
  return 0
}

# The state dir is deleted only when it is a lab's, so a mistyped LAB_STATE cannot wipe
# an unrelated directory.
remove_state() {
  [[ -e $STATE ]] || return 0
  if [[ -f $STATE/$MARKER ]]; then
    rm -rf -- "$STATE"
  elif [[ -d $STATE && -z $(ls -A -- "$STATE") ]]; then
    rmdir -- "$STATE"
  else
    die "$STATE exists but is not a lab state dir (no $MARKER); remove it yourself or pick another LAB_STATE"
  fi
}

json_string() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

write_sshd_config() {
  local i=$1 dir
  dir=$(host_dir "$i")
  cat >"$dir/sshd_config" <<EOF
# Lab host h$i ($PREFIX). Written by lab.sh up; removed by lab.sh down.
ListenAddress $SUBNET.$((10 + i)):22
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $STATE/authorized_keys
StrictModes no
UsePAM no
Subsystem sftp internal-sftp
AllowTcpForwarding yes
GatewayPorts no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
ClientAliveInterval 5
ClientAliveCountMax 3
MaxSessions 1000
MaxStartups 200
LogLevel INFO
EOF
}

# Start one host's sshd detached, inside the netns and a private mount namespace whose /tmp
# is a fresh tmpfs; everything sshd starts inherits both.
start_sshd() {
  local i=$1 dir ns
  dir=$(host_dir "$i")
  ns=$(netns_name "$i")
  setsid ip netns exec "$ns" unshare --mount --propagation private \
    sh -c 'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$0" -D -f "$1" -E "$2"' \
    "$SSHD" "$dir/sshd_config" "$dir/sshd.log" </dev/null >/dev/null 2>&1 9<&- &
  STARTED[i]=$!
}

# Poll one host until its sshd sends an SSH banner on port 22; fail early if sshd died.
wait_sshd() {
  local i=$1 deadline=$2 pid=$3 addr=$SUBNET.$((10 + i)) dir
  dir=$(host_dir "$i")
  while :; do
    if timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/22" && IFS= read -r -t 1 line <&3 && [[ $line == SSH-* ]]' "$addr" 2>/dev/null; then
      return 0
    fi
    if ! alive "$pid"; then
      log "h$i: sshd exited at start; its log ($dir/sshd.log):"
      tail -n 5 "$dir/sshd.log" >&2 2>/dev/null || true
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "h$i: sshd did not accept connections on $addr:22 within ${TIMEOUT}s; log ($dir/sshd.log):"
      tail -n 5 "$dir/sshd.log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.02
  done
}

# Run "fn i" for every host in parallel; fail when any fails.
for_each_host() {
  local fn=$1 n=$2 i failed=0
  local -a jobs=()
  for ((i = 1; i <= n; i++)); do
    "$fn" "$i" "${@:3}" &
    jobs+=("$!")
  done
  for i in "${jobs[@]}"; do wait "$i" || failed=1; done
  return "$failed"
}

keygen() { ssh-keygen -q -t ed25519 -N '' -C "$2" -f "$1" </dev/null >/dev/null; }
host_keygen() { keygen "$(host_dir "$1")/ssh_host_ed25519_key" "lab-$PREFIX-h$1"; }

check_subnet_free() {
  local owner
  owner=$(ip -o -4 addr show | awk -v s="$SUBNET." -v b="$BRIDGE" 'index($4, s) == 1 && $2 != b { print $2; exit }')
  [[ -z $owner ]] || die "subnet $SUBNET.0/24 is already used by interface $owner; pick another LAB_SUBNET"
}

cmd_up() {
  local n=${1:-}
  [[ $n =~ ^[1-9][0-9]*$ ]] && ((n <= MAX_HOSTS)) || die "usage: lab.sh up N (1 <= N <= $MAX_HOSTS)"
  local started=$SECONDS i
  if [[ -n ${LAB_OWNER_PID:-} ]]; then
    [[ $LAB_OWNER_PID =~ ^[0-9]+$ ]] && alive "$LAB_OWNER_PID" || die "LAB_OWNER_PID '$LAB_OWNER_PID' is not a live process"
  fi
  lock
  check_owner
  clear_lab
  remove_state
  check_subnet_free
  # From here a failure removes the half-built lab so nothing is left behind.
  trap 'status=$?; if ((status != 0)); then log "up failed; removing the partial lab"; clear_lab || true; remove_state || true; fi' EXIT

  mkdir -p "$STATE/hosts" /run/sshd
  chmod 700 "$STATE"
  printf '%s\n' "$PREFIX" >"$STATE/$MARKER"
  for ((i = 1; i <= n; i++)); do mkdir -p "$(host_dir "$i")"; done

  keygen "$STATE/id_ed25519" "lab-$PREFIX-client" &
  local keygen_pid=$!
  for_each_host host_keygen "$n" || die "ssh-keygen failed"
  wait "$keygen_pid" || die "ssh-keygen failed for the lab client key"
  cp "$STATE/id_ed25519.pub" "$STATE/authorized_keys"

  {
    printf 'link add %s type bridge forward_delay 0\n' "$BRIDGE"
    printf 'addr add %s.1/24 dev %s\n' "$SUBNET" "$BRIDGE"
    printf 'link set %s up\n' "$BRIDGE"
    for ((i = 1; i <= n; i++)); do
      printf 'netns add %s\n' "$(netns_name "$i")"
      printf 'link add %s-v%s type veth peer name eth0 netns %s\n' "$PREFIX" "$i" "$(netns_name "$i")"
      printf 'link set %s-v%s master %s up\n' "$PREFIX" "$i" "$BRIDGE"
    done
  } | ip -batch - || die "could not create the bridge, namespaces and veths"
  configure_ns() {
    printf 'addr add %s.%s/24 dev eth0\nlink set lo up\nlink set eth0 up\n' "$SUBNET" "$((10 + $1))" |
      ip -n "$(netns_name "$1")" -batch -
  }
  for_each_host configure_ns "$n" || die "could not configure the host namespaces"

  local -a STARTED=()
  for ((i = 1; i <= n; i++)); do
    write_sshd_config "$i"
    start_sshd "$i"
  done
  wait_started() { wait_sshd "$1" "$2" "${STARTED[$1]}"; }
  for_each_host wait_started "$n" "$((SECONDS + TIMEOUT))" || die "not every sshd came up"

  local -a pids=()
  local pid
  for ((i = 1; i <= n; i++)); do
    pid=$(sshd_pid "$i") || die "h$i: sshd answers but $(host_dir "$i")/sshd.pid does not name a live sshd in $(netns_name "$i")"
    pids+=("$pid")
  done

  local addr
  : >"$STATE/known_hosts"
  {
    printf '# The lab %s (%s.0/24). Written by lab.sh up; removed by lab.sh down.\n' "$PREFIX" "$SUBNET"
    for ((i = 1; i <= n; i++)); do
      addr=$SUBNET.$((10 + i))
      printf '%s,h%s %s\n' "$addr" "$i" "$(cut -d' ' -f1,2 "$(host_dir "$i")/ssh_host_ed25519_key.pub")" >>"$STATE/known_hosts"
      printf '\nHost h%s\n  HostName %s\n  User root\n  Port 22\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  ConnectTimeout 5\n' \
        "$i" "$addr" "$STATE/id_ed25519" "$STATE/known_hosts"
    done
  } >"$STATE/ssh_config"

  {
    printf '{\n  "prefix": %s,\n  "subnet": %s,\n  "managerAddress": %s,\n' \
      "$(json_string "$PREFIX")" "$(json_string "$SUBNET")" "$(json_string "$SUBNET.1")"
    printf '  "stateDir": %s,\n  "sshConfigPath": %s,\n  "knownHostsPath": %s,\n  "identityFile": %s,\n  "hosts": [' \
      "$(json_string "$STATE")" "$(json_string "$STATE/ssh_config")" \
      "$(json_string "$STATE/known_hosts")" "$(json_string "$STATE/id_ed25519")"
    for ((i = 1; i <= n; i++)); do
      ((i > 1)) && printf ','
      printf '\n    { "name": "h%s", "alias": "h%s", "address": "%s", "netns": "%s", "sshdPid": %s }' \
        "$i" "$i" "$SUBNET.$((10 + i))" "$(netns_name "$i")" "${pids[i - 1]}"
    done
    printf '\n  ]\n}\n'
  } >"$STATE/lab.json.new"
  mv "$STATE/lab.json.new" "$STATE/lab.json"
  if [[ -n ${LAB_OWNER_PID:-} ]]; then
    printf '%s %s\n' "$LAB_OWNER_PID" "$(start_time "$LAB_OWNER_PID")" >"$STATE/owner"
  fi
  trap - EXIT
  log "$n host(s) up in $((SECONDS - started))s; ssh -F $STATE/ssh_config h1"
  cat "$STATE/lab.json"
}

cmd_down() {
  lock
  check_owner
  clear_lab
  remove_state
  log "down"
}

cmd_status() {
  if [[ ! -f $STATE/lab.json ]]; then
    printf 'lab %s is down (no %s/lab.json)\n' "$PREFIX" "$STATE"
    return 1
  fi
  local dir i dead=()
  for dir in "$STATE"/hosts/h*; do
    i=${dir##*/h}
    sshd_pid "$i" >/dev/null || dead+=("h$i")
  done
  cat "$STATE/lab.json"
  if ((${#dead[@]} > 0)); then
    log "sshd is not running on: ${dead[*]} (run lab.sh up again)"
    return 2
  fi
}

cmd_pids() {
  (($# == 1)) || die "usage: lab.sh pids HOST"
  local i pids
  i=$(host_index "$1")
  pids=$(ip netns pids "$(netns_name "$i")" | paste -sd, -) || die "$1: no namespace $(netns_name "$i")"
  [[ -n $pids ]] || return 0
  # A process may exit between the two calls; ps then exits 1 but still lists the rest.
  ps ww -o pid=,args= -p "$pids" || true
}

cmd_exec() {
  (($# >= 2)) || die "usage: lab.sh exec HOST CMD [ARGS...]"
  local i pid
  i=$(host_index "$1")
  pid=$(sshd_pid "$i") || die "$1: its sshd is not running; run lab.sh up again"
  shift
  exec nsenter -t "$pid" -n -m -- "$@"
}

main() {
  local cmd=${1:-}
  (($# > 0)) && shift
  validate
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down ;;
    status) cmd_status ;;
    pids) cmd_pids "$@" ;;
    exec) cmd_exec "$@" ;;
    *) die "usage: lab.sh up N | down | status | pids HOST | exec HOST CMD..." ;;
  esac
}

main "$@"
