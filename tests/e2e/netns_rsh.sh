#!/bin/sh
# Open MPI's rsh agent for hosts emulated by network namespaces (two_hosts.sh). Open MPI runs
# `AGENT [OPTIONS] HOST WORD...`, where the WORDs make one command line for the remote shell
# (quoted for it, as ssh would pass them on). This runs that line with sh inside HOST's
# namespace, found in NETNS_RSH_HOSTS ("HOST=NAMESPACE ...", set by the test; the agent inherits
# mpirun's environment and passes it on to the orted it starts).
set -eu
while [ "${1#-}" != "$1" ]; do shift; done # ssh-style options (plm_rsh_args), if any
host=$1
shift
for pair in $NETNS_RSH_HOSTS; do
  [ "${pair%%=*}" = "$host" ] && exec ip netns exec "${pair#*=}" sh -c "$*"
done
echo "netns_rsh.sh: host $host is not in NETNS_RSH_HOSTS ($NETNS_RSH_HOSTS)" >&2
exit 255
