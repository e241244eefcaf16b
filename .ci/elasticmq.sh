#!/usr/bin/env bash
# Installs (once) and runs ElasticMQ 1.6.14, a second real SQS implementation (JVM, SQS JSON and
# query protocols), on 127.0.0.1 only.
#   .ci/elasticmq.sh install   resolve elasticmq-server from Maven Central into .cache/elasticmq (needs java 17 + mvn)
#   .ci/elasticmq.sh start     install if needed, start in the background, wait until SQS answers
#   .ci/elasticmq.sh stop      stop the one this script started on that port
# ELASTICMQ_PORT picks the port (default 9324); each port has its own pid file, so the bench can run
# its own instance beside the one the tests use.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=1.6.14
dir="$root/.cache/elasticmq"
port="${ELASTICMQ_PORT:-9324}"
pidfile="$root/.cache/elasticmq-${port}.pid"
log="$root/.cache/elasticmq-${port}.log"
conf="$dir/elasticmq-${port}.conf"
# shellcheck source=background.sh
. "$root/.ci/background.sh"

install() {
  # The marker is written last, so a half-finished install is redone.
  if [ -f "$dir/.installed-$version" ]; then return 0; fi
  command -v java >/dev/null || { echo "elasticmq: needs java (17+) on PATH" >&2; return 1; }
  command -v mvn >/dev/null || { echo "elasticmq: needs mvn (Maven) on PATH to fetch it from Maven Central" >&2; return 1; }
  echo "elasticmq: resolving org.elasticmq:elasticmq-server_2.13:$version from Maven Central (one-time, ~1 min)" >&2
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId>
  <artifactId>elasticmq-runner</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -q -B -f "$dir/pom.xml" -Dmaven.repo.local="$dir/m2" dependency:build-classpath \
    -Dmdep.outputFile="$dir/classpath.txt" >&2
  touch "$dir/.installed-$version"
}

# Maven writes absolute paths; rebase them on where the cache is now (a moved or copied checkout).
classpath() { sed "s#[^:]*/m2/#$dir/m2/#g" "$dir/classpath.txt"; }

up() { curl -fsS -o /dev/null "http://127.0.0.1:${port}/?Action=ListQueues" 2>/dev/null; }

start() {
  if up; then echo "elasticmq: already answering on 127.0.0.1:${port}" >&2; return 0; fi
  install
  cat >"$conf" <<CONF
include classpath("application.conf")
node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
CONF
  echo "elasticmq: starting on 127.0.0.1:${port} (log: .cache/elasticmq-${port}.log)" >&2
  nohup java -Xss512k -XX:+UseSerialGC -Xmx256m -Dconfig.file="$conf" -cp "$(classpath)" \
    org.elasticmq.server.Main >"$log" 2>&1 &
  echo $! >"$pidfile"
  wait_ready elasticmq "$pidfile" "$log" 60
}

stop() { stop_pidfile "$pidfile"; }

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
