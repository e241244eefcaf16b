#!/usr/bin/env bash
# Builds the SqsAsyncBatchManager reference (once per source change) into .cache/batch-manager:
# resolves the pom's dependencies from Maven Central, compiles BatchManagerServer.java with javac.
# Prints the java command line's classpath on stdout. Needs Java 17+ and Maven.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/.cache/batch-manager"
stamp=$(cat "$here/pom.xml" "$here/BatchManagerServer.java" | sha256sum | cut -c1-16)
if [ ! -f "$out/.built-$stamp" ]; then
  command -v java >/dev/null || { echo "batch-manager: needs java (17+) on PATH" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "batch-manager: needs mvn (Maven) on PATH" >&2; exit 1; }
  echo "batch-manager: resolving AWS SDK for Java v2 and json-schema-validator from Maven Central, compiling" >&2
  mkdir -p "$out"
  mvn -q -B -f "$here/pom.xml" -Dmaven.repo.local="$out/m2" dependency:build-classpath \
    -Dmdep.outputFile="$out/classpath.txt" >&2
  rm -rf "$out/classes" "$out"/.built-*
  javac -d "$out/classes" -cp "$(sed "s#[^:]*/m2/#$out/m2/#g" "$out/classpath.txt")" "$here/BatchManagerServer.java" >&2
  touch "$out/.built-$stamp"
fi
# Maven writes absolute paths; rebase them on where the cache is now (a moved or copied checkout).
echo "$out/classes:$(sed "s#[^:]*/m2/#$out/m2/#g" "$out/classpath.txt")"
