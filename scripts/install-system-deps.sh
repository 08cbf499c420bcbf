#!/usr/bin/env bash
# Installs the Debian packages the hub runs on, only those missing:
#   Java 17 (runs the Kafka broker), Maven (downloads Kafka's jars from Maven Central),
#   redis-server (identity state) and postgresql (the production store).
set -euo pipefail
need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "installing system packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts packaged services on install; the hub runs its own, so stop theirs.
for svc in redis-server postgresql; do
  $sudo service "$svc" stop >/dev/null 2>&1 || true
done
